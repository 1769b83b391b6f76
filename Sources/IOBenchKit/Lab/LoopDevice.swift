import CIOBenchShim
import Foundation
import Glibc

/// A loop device over a backing file, set up through the kernel's ioctls:
/// `LOOP_CTL_GET_FREE` on /dev/loop-control, then `LOOP_CONFIGURE` with
/// `LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR`.
///
/// The device's file descriptor stays open while the object lives. With AUTOCLEAR the
/// kernel unbinds the device on its last close, so a lab killed with SIGKILL before it
/// mounted anything leaves no loop device behind; once mounted, the mount holds the
/// device and `iobench lab --cleanup` finds it.
public final class LoopDevice {
    public static let controlPath = "/dev/loop-control"

    public let number: Int
    public let backingFile: String
    /// Whether the kernel really does direct I/O to the backing file
    /// (/sys/block/loopN/loop/dio after configuring).
    public let directIO: Bool
    private var fd: Int32

    public var path: String { "/dev/loop\(number)" }
    public var name: String { "loop\(number)" }

    private init(number: Int, fd: Int32, backingFile: String, directIO: Bool) {
        self.number = number; self.fd = fd; self.backingFile = backingFile; self.directIO = directIO
    }

    /// Binds a free loop device to `backing`. Another process may take the free device
    /// between GET_FREE and CONFIGURE (EBUSY): then the next free one is tried.
    public static func attach(backing: String) throws(IOBenchError) -> LoopDevice {
        let control = iob_open(controlPath, O_RDWR | O_CLOEXEC, 0)
        guard control >= 0 else {
            let e = errno
            if e == ENOENT { throw .badInput("\(controlPath) does not exist: this kernel has no loop driver (CONFIG_BLK_DEV_LOOP); iobench lab needs it") }
            throw .badInput("cannot open \(controlPath): \(Errno(e)); iobench lab needs root (CAP_SYS_ADMIN) to create loop devices")
        }
        defer { close(control) }
        let backingFD = iob_open(backing, O_RDWR | O_CLOEXEC, 0)
        guard backingFD >= 0 else { throw .runFailed("cannot open the backing file \(backing): \(Errno.current)") }
        // The loop device keeps its own reference to the file.
        defer { close(backingFD) }
        let flags = IOB_LO_FLAGS_DIRECT_IO | IOB_LO_FLAGS_AUTOCLEAR
        var lastError = Errno(0)
        for attempt in 0 ..< 50 {
            let n = iob_loop_ctl_get_free(control)
            guard n >= 0 else { throw .runFailed("LOOP_CTL_GET_FREE on \(controlPath) failed: \(Errno(-n))") }
            let dev = "/dev/loop\(n)"
            var fd = iob_open(dev, O_RDWR | O_CLOEXEC, 0)
            // A device just created may take a moment to appear in /dev.
            var waited = 0
            while fd < 0 && errno == ENOENT && waited < 100 {
                usleep(10_000); waited += 1
                fd = iob_open(dev, O_RDWR | O_CLOEXEC, 0)
            }
            guard fd >= 0 else { throw .runFailed("cannot open \(dev): \(Errno.current)") }
            let rc = iob_loop_configure(fd, backingFD, flags, 0, String(backing.suffix(63)))
            if rc == 0 {
                let dio = StorageInfo.readSysfs("/sys/block/loop\(n)/loop/dio") == "1"
                return LoopDevice(number: Int(n), fd: fd, backingFile: backing, directIO: dio)
            }
            close(fd)
            lastError = Errno(-rc)
            // EBUSY: another process bound this device first. Try the next free one.
            guard -rc == EBUSY else { break }
            usleep(useconds_t(1000 * min(attempt + 1, 20)))
        }
        if lastError.rawValue == EBUSY {
            throw .runFailed("no loop device could be bound to \(backing): every free device was taken by another process first (EBUSY, 50 attempts)")
        }
        throw .runFailed("LOOP_CONFIGURE of \(backing) failed: \(lastError)")
    }

    /// Unbinds the device and closes it. While something else still holds it (a lazily
    /// detached mount) the kernel unbinds it on that holder's last close. Returns an
    /// error text, or nil.
    @discardableResult
    public func detach() -> String? {
        guard fd >= 0 else { return nil }
        let rc = iob_loop_clr_fd(fd)
        close(fd)
        fd = -1
        // ENXIO: already unbound (AUTOCLEAR did it).
        if rc != 0 && -rc != ENXIO { return "LOOP_CLR_FD on \(path) failed: \(Errno(-rc))" }
        return nil
    }

    deinit { detach() }

    /// The backing file of a bound loop device (/sys/block/loopN/loop/backing_file; the
    /// kernel appends " (deleted)" once the file is removed), or nil when it is unbound.
    public static func backingFile(ofDevice name: String) -> String? {
        guard let text = try? String(contentsOfFile: "/sys/block/\(name)/loop/backing_file", encoding: .utf8) else { return nil }
        let t = text.trimmingCharacters(in: .newlines)
        return t.isEmpty ? nil : t
    }

    /// Every bound loop device with its backing file, from sysfs.
    public static func bound() -> [(device: String, backingFile: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []
        return names.filter { $0.hasPrefix("loop") }.sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
            .compactMap { n in backingFile(ofDevice: n).map { ("/dev/" + n, $0) } }
    }

    /// Unbinds the loop device `path` (cleanup of a crashed lab). Returns an error text or nil.
    public static func detach(devicePath path: String) -> String? {
        let fd = iob_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return "cannot open \(path): \(Errno.current)" }
        defer { close(fd) }
        let rc = iob_loop_clr_fd(fd)
        if rc != 0 && -rc != ENXIO { return "LOOP_CLR_FD on \(path) failed: \(Errno(-rc))" }
        return nil
    }
}
