import CIOBenchShim
import Glibc

/// The block device under a target and the queue settings that decide how it behaves:
/// read from sysfs, never guessed.
public struct BlockQueueInfo: Codable, Sendable, Equatable {
    /// Kernel name of the device whose queue serves the I/O (`vda`, `loop3`, `nvme0n1`).
    public var device: String
    /// The partition the target sits on, when it is one (`vda1`).
    public var partition: String?
    public var ioPoll: Bool?
    public var scheduler: String?
    public var nrRequests: Int?
    public var logicalBlockSize: Int?
    public var physicalBlockSize: Int?
    public var rotational: Bool?
    public var model: String?

    enum CodingKeys: String, CodingKey {
        case device, partition, scheduler, rotational, model
        case ioPoll = "io_poll"
        case nrRequests = "nr_requests"
        case logicalBlockSize = "logical_block_size"
        case physicalBlockSize = "physical_block_size"
    }
}

public enum StorageInfo {
    public static func kernelRelease() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
    }

    public static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, 255)
        return String(nulTerminated: buf)
    }

    package static func readSysfs(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 4096)
        guard fgets(&buf, 4096, f) != nil else { return nil }
        return String(nulTerminated: buf).trimmingCharacters(in: "\n").trimmingCharacters(in: " ")
    }

    static func resolve(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// The queue settings of the block device with number `dev` (major:minor), walking
    /// from a partition to its whole disk. Nil for anonymous devices (tmpfs, overlay).
    public static func queueInfo(major: UInt32, minor: UInt32) -> BlockQueueInfo? {
        guard major != 0 else { return nil }
        guard var sysDir = resolve("/sys/dev/block/\(major):\(minor)") else { return nil }
        var partition: String?
        if readSysfs(sysDir + "/partition") != nil {
            partition = String(sysDir.split(separator: "/").last ?? "")
            sysDir = String(sysDir[..<(sysDir.lastIndex(of: "/") ?? sysDir.endIndex)])
        }
        let name = String(sysDir.split(separator: "/").last ?? "")
        let q = sysDir + "/queue/"
        var info = BlockQueueInfo(device: name, partition: partition)
        info.ioPoll = readSysfs(q + "io_poll").map { $0 == "1" }
        if let s = readSysfs(q + "scheduler") {
            if let open = s.firstIndex(of: "["), let close = s.firstIndex(of: "]") {
                info.scheduler = String(s[s.index(after: open) ..< close])
            } else {
                info.scheduler = s
            }
        }
        info.nrRequests = readSysfs(q + "nr_requests").flatMap { Int($0) }
        info.logicalBlockSize = readSysfs(q + "logical_block_size").flatMap { Int($0) }
        info.physicalBlockSize = readSysfs(q + "physical_block_size").flatMap { Int($0) }
        info.rotational = readSysfs(q + "rotational").map { $0 == "1" }
        info.model = readSysfs(sysDir + "/device/model")
        return info
    }

    /// Mount point, filesystem type and source of the filesystem holding `path`, from
    /// /proc/self/mountinfo (the longest mount point that contains the path).
    public static func filesystem(of path: String) -> (mountPoint: String, type: String, source: String)? {
        guard let real = resolve(path), let f = fopen("/proc/self/mountinfo", "r") else { return nil }
        defer { fclose(f) }
        var best: (String, String, String)?
        var buf = [CChar](repeating: 0, count: 8192)
        while fgets(&buf, 8192, f) != nil {
            let line = String(nulTerminated: buf)
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 2 else { continue }
            let mountPoint = unescapeMountinfo(String(left[4]))
            let contains = mountPoint == "/" || real == mountPoint || real.hasPrefix(mountPoint + "/")
            if contains, mountPoint.count >= (best?.0.count ?? -1) {
                best = (mountPoint, String(right[0]), String(right[1]))
            }
        }
        return best.map { (mountPoint: $0.0, type: $0.1, source: $0.2) }
    }

    package static func unescapeMountinfo(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        var it = Array(s.utf8)[...]
        var bytes: [UInt8] = []
        while let c = it.first {
            if c == UInt8(ascii: "\\"), it.count >= 4, let v = UInt8(String(decoding: it.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(v); it = it.dropFirst(4)
            } else {
                bytes.append(c); it = it.dropFirst()
            }
        }
        out = String(decoding: bytes, as: UTF8.self)
        return out
    }

    /// `kernel.io_uring_disabled`: 0 allowed, 1 only for the io_uring_group, 2 disabled.
    public static func ioUringDisabled() -> Int? {
        readSysfs("/proc/sys/kernel/io_uring_disabled").flatMap { Int($0) }
    }

    public static func cpuModel() -> String? {
        guard let f = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 1024)
        while fgets(&buf, 1024, f) != nil {
            let line = String(nulTerminated: buf)
            if line.hasPrefix("model name"), let colon = line.firstIndex(of: ":") {
                return String(line[line.index(after: colon)...]).trimmingCharacters(in: "\n").trimmingCharacters(in: " ")
            }
        }
        return nil
    }
}
