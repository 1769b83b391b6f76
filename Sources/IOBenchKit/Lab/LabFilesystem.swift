/// The filesystems `iobench lab` builds on its loop devices.
public enum LabFilesystem: String, CaseIterable, Sendable {
    case ext4, xfs
}
