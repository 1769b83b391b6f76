import Foundation
import XCTest

/// A scratch filesystem on a loop device: a sparse image in the temp dir, attached with
/// `losetup --find --show`, formatted (xfs, ext4, ...) and mounted on a temp directory.
/// `cleanup()` (also run from deinit) unmounts it and detaches ITS OWN loop device by
/// name, then removes the image; it is safe to call more than once. Tests register it
/// with `addTeardownBlock` so it runs even when an assertion fails or a test throws.
/// Creating one throws XCTSkip, with the reason, when not root or when losetup, mkfs or
/// mount fail.
final class LoopFilesystem {
    let type: String
    /// The directory holding the image and the mount point.
    let root: String
    let image: String
    let mountPoint: String
    private(set) var device: String?
    private(set) var mounted = false

    /// `imageDirectory`: where the image lives (default the temp dir; /dev/shm keeps a
    /// disk's own noise out of timing-sensitive checks).
    init(type: String, sizeMiB: Int = 512, imageDirectory: String? = nil) throws {
        guard isRoot() else { throw XCTSkip("a loop \(type) filesystem needs root") }
        let mkfs: String
        switch type {
        case "xfs": mkfs = "mkfs.xfs -f -q"
        case "ext4": mkfs = "mkfs.ext4 -q -F"
        case "btrfs": mkfs = "mkfs.btrfs -q -f"
        default: throw XCTSkip("no mkfs command known for \(type)")
        }
        self.type = type
        let base = imageDirectory ?? NSTemporaryDirectory()
        root = (base.hasSuffix("/") ? base : base + "/")
            + "iobench-loop-\(type)-\(getpid())-\(UUID().uuidString.prefix(8))"
        image = root + "/fs.img"
        mountPoint = root + "/mnt"
        do {
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        } catch {
            throw XCTSkip("cannot create \(mountPoint): \(error)")
        }

        let t = sh("truncate -s \(sizeMiB)M '\(image)'")
        guard t.status == 0 else { cleanup(); throw XCTSkip("cannot create the image \(image): \(t.output)") }
        let l = sh("losetup --find --show '\(image)'")
        let dev = l.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard l.status == 0, dev.hasPrefix("/dev/loop") else {
            cleanup()
            throw XCTSkip("losetup could not attach \(image): \(l.output)")
        }
        device = dev
        let f = sh("\(mkfs) \(dev)")
        guard f.status == 0 else { cleanup(); throw XCTSkip("\(mkfs) \(dev) failed: \(f.output)") }
        let m = sh("mount -t \(type) \(dev) '\(mountPoint)'")
        guard m.status == 0 else { cleanup(); throw XCTSkip("cannot mount \(type) on \(dev): \(m.output)") }
        mounted = true
    }

    func file(_ name: String) -> String { mountPoint + "/" + name }

    func cleanup() {
        if mounted {
            if sh("umount '\(mountPoint)'").status != 0 {
                // Something still holds it open: detach it lazily rather than leave it mounted.
                sh("umount -l '\(mountPoint)'")
            }
            mounted = false
        }
        if let device {
            // Only the device this object attached, by name; forgotten at once so a later
            // call never detaches a device someone else has attached since.
            sh("losetup -d \(device)")
            self.device = nil
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    deinit { cleanup() }
}
