import CIOBenchShim
import Glibc
import IOBenchPlatform

/// Files of the mounted tracefs: finding (or mounting) it, reading and writing its
/// control files, and removing trace instances.
enum Tracefs {
    /// The mounted tracefs, mounting it on /sys/kernel/tracing when neither usual place
    /// has one.
    static func root() -> Result<String, TraceUnavailable> {
        for root in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] where isDirectory(root + "/events") {
            return .success(root)
        }
        let root = "/sys/kernel/tracing"
        guard isDirectory(root) else {
            return .failure(TraceUnavailable("no tracefs: \(root) does not exist (kernel without CONFIG_TRACING?)"))
        }
        guard mount("nodev", root, "tracefs", 0, nil) == 0 else {
            return .failure(TraceUnavailable("tracefs is not mounted and mounting it on \(root) failed: \(Errno.current)"))
        }
        guard isDirectory(root + "/events") else {
            return .failure(TraceUnavailable("tracefs mounted on \(root) has no events directory"))
        }
        return .success(root)
    }

    struct TraceUnavailable: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Writes a control file; returns 0 or the errno (the kernel reports a rejected filter
    /// as EINVAL on write).
    static func writeControl(_ path: String, _ value: String) -> Int32 {
        let fd = open(path, O_WRONLY | O_TRUNC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count ? 0 : (n < 0 ? errno : EIO)
    }

    static func readWhole(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            out.append(contentsOf: chunk[0 ..< n])
        }
        return out
    }

    static func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func listDirectory(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes every trigger of an event: the kernel unregisters them all when the
    /// `trigger` file is opened for writing with O_TRUNC.
    static func clearTriggers(_ eventDir: String) {
        let fd = open(eventDir + "/trigger", O_WRONLY | O_TRUNC)
        if fd >= 0 { close(fd) }
    }

    /// Removes an instance (rmdir; the kernel refuses with EBUSY while a file in it is open).
    static func removeInstance(_ path: String) {
        for attempt in 0 ..< 50 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            guard errno == EBUSY else { return }
            if attempt < 49 { usleep(20_000) }
        }
    }

    /// Removes instances left by iobench processes that no longer exist.
    static func removeStaleInstances(root: String) {
        for name in listDirectory(root + "/instances") where name.hasPrefix("iobench-") {
            let parts = name.split(separator: "-")
            guard parts.count == 3, let pid = Int32(parts[1]), pid != getpid() else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { removeInstance(root + "/instances/" + name) }
        }
    }

    /// Entries overwritten or dropped in the instance's ring buffers (per_cpu/cpu*/stats).
    static func ringLostEntries(instance: String) -> UInt64 {
        var total: UInt64 = 0
        for cpu in listDirectory(instance + "/per_cpu") where cpu.hasPrefix("cpu") {
            guard let stats = readWhole(instance + "/per_cpu/\(cpu)/stats") else { continue }
            for line in stats.split(separator: "\n") {
                let kv = line.split(separator: ":", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let key = kv[0].drop(while: { $0 == " " }).droppingTrailing(" ")
                if key == "overrun" || key == "commit overrun" || key == "dropped events",
                   let v = UInt64(kv[1].drop(while: { $0 == " " }).droppingTrailing(" ")) {
                    total += v
                }
            }
        }
        return total
    }
}

// MARK: - Device numbers as the tracepoints record them

extension PathTracer {
    /// The kernel-internal dev_t the tracepoints record: `major << MINORBITS | minor`.
    package static func kernelDev(major: UInt32, minor: UInt32, minorBits: Int = 20) -> UInt64 {
        UInt64(major) << UInt64(minorBits) | UInt64(minor)
    }

    /// The filesystem of the file open on `fd` as the kernel names it, from its mount in
    /// /proc/self/mountinfo (found by the fd's `mnt_id`): the superblock's device (the
    /// `dev` of iomap tracepoints; differs from `st_dev` on btrfs) and the block device
    /// under it: the superblock device itself when it is a real one (ext4, XFS), else the
    /// mount source when that is a block device (btrfs on one device), else nil (tmpfs).
    public static func filesystemDevices(fd: Int32) -> (superblock: (major: UInt32, minor: UInt32), blockDevice: (major: UInt32, minor: UInt32)?)? {
        guard let info = Tracefs.readWhole("/proc/self/fdinfo/\(fd)"),
              let mntLine = info.split(separator: "\n").first(where: { $0.hasPrefix("mnt_id:") }) else { return nil }
        let mntID = mntLine.dropFirst("mnt_id:".count).drop(while: { $0 == " " || $0 == "\t" })
        guard let mountinfo = Tracefs.readWhole("/proc/self/mountinfo") else { return nil }
        for line in mountinfo.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            let left = halves[0].split(separator: " ")
            guard halves.count == 2, left.count >= 3, left[0] == mntID else { continue }
            let mm = left[2].split(separator: ":")
            guard mm.count == 2, let major = UInt32(mm[0]), let minor = UInt32(mm[1]) else { return nil }
            if major != 0 { return ((major, minor), (major, minor)) }
            let right = halves[1].split(separator: " ")
            var st = stat()
            if right.count >= 2, right[1].hasPrefix("/"),
               stat(StorageInfo.unescapeMountinfo(String(right[1])), &st) == 0, (st.st_mode & S_IFMT) == S_IFBLK {
                return ((major, minor), (UInt32(iob_major(st.st_rdev)), UInt32(iob_minor(st.st_rdev))))
            }
            return ((major, minor), nil)
        }
        return nil
    }

    /// The disk holding a partition (bios are traced on the disk), or the device itself.
    static func wholeDisk(major: UInt32, minor: UInt32) -> (major: UInt32, minor: UInt32) {
        guard let real = realpath("/sys/dev/block/\(major):\(minor)", nil) else { return (major, minor) }
        let dir = String(cString: real)
        free(real)
        guard Tracefs.fileExists(dir + "/partition"), let slash = dir.lastIndex(of: "/"),
              let dev = Tracefs.readWhole(String(dir[..<slash]) + "/dev") else { return (major, minor) }
        let parts = dev.split(separator: "\n").first?.split(separator: ":") ?? []
        guard parts.count == 2, let ma = UInt32(parts[0]), let mi = UInt32(parts[1]) else { return (major, minor) }
        return (ma, mi)
    }
}

private extension Substring {
    func droppingTrailing(_ c: Character) -> Substring {
        var s = self
        while s.last == c { s = s.dropLast() }
        return s
    }
}
