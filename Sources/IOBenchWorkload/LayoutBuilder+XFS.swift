import CIOBenchShim
import Glibc
import IOBenchPlatform

extension Build {
    /// XFS: an extent-size hint of the chunk size on the file and on a spacer file makes
    /// each O_DIRECT write allocate exactly one aligned chunk; interleaving the two
    /// files' writes (file chunk i, spacer chunk i, ...) leaves every file chunk
    /// physically apart from the next. The spacer is removed afterwards.
    func fragmentXFS() throws(IOBenchError) -> String {
        let hint = UInt32(plan.extentBytes)
        let rc = iob_set_extsize_hint(fd, hint)
        guard rc == 0 else {
            log("iobench: note: XFS refused an extent-size hint of \(Units.formatSize(plan.extentBytes)) (\(Errno(-rc))); interleaving writes without it")
            return try fragmentInterleaved(hint: false)
        }
        return try fragmentInterleaved(hint: true)
    }
}
