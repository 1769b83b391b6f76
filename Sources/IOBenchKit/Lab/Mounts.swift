import CIOBenchShim
import Foundation
import Glibc

/// mount(2)/umount2(2) and the mount table (/proc/self/mountinfo), for `iobench lab`.
public enum Mounts {
    public struct Entry: Equatable, Sendable {
        public var mountPoint: String
        public var type: String
        public var source: String
    }

    /// Every mount of this process's namespace, in table order.
    public static func entries() -> [Entry] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { return nil }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 2 else { return nil }
            return Entry(mountPoint: StorageInfo.unescapeMountinfo(String(left[4])), type: String(right[0]),
                         source: StorageInfo.unescapeMountinfo(String(right[1])))
        }
    }

    /// Mounts `device` (a filesystem of `type`) on `mountPoint`, without atime updates,
    /// device nodes or set-uid programs.
    public static func mount(device: String, at mountPoint: String, type: String) throws(IOBenchError) {
        let rc = iob_mount(device, mountPoint, type, IOB_MS_NOATIME | IOB_MS_NODEV | IOB_MS_NOSUID, nil)
        guard rc == 0 else {
            throw .runFailed("mounting \(type) on \(device) at \(mountPoint) failed: \(Errno(-rc))")
        }
    }

    /// How an unmount went.
    public enum Unmounted: Equatable, Sendable {
        case done
        /// Still busy after the retries: detached lazily (MNT_DETACH). The kernel releases
        /// the filesystem, and its loop device, when the last user lets go.
        case lazily(String)
        case failed(String)
    }

    /// Unmounts `mountPoint`, retrying while it is busy (EBUSY: a process, or a
    /// just-closed file, still holds it) for about `patience` seconds, then detaches it
    /// lazily as a last resort.
    public static func unmount(_ mountPoint: String, patience: Double = 3) -> Unmounted {
        let deadline = Date().addingTimeInterval(patience)
        var rc: Int32 = 0
        repeat {
            rc = iob_umount2(mountPoint, 0)
            if rc == 0 { return .done }
            if -rc == EINVAL || -rc == ENOENT { return .failed("\(mountPoint) is not mounted (\(Errno(-rc)))") }
            if -rc != EBUSY && -rc != EINTR { break }
            usleep(100_000)
        } while Date() < deadline
        let busy = Errno(-rc)
        // Who holds it, looked up while the path still leads into the mount.
        let held = holders(of: mountPoint)
        let lazy = iob_umount2(mountPoint, IOB_MNT_DETACH)
        if lazy == 0 { return .lazily("\(mountPoint) stayed busy (\(busy))\(held); detached lazily (umount -l): the kernel releases it, and its loop device, when its last user closes it") }
        return .failed("cannot unmount \(mountPoint): \(busy); lazy detach failed too: \(Errno(-lazy))")
    }
}
