import CIOBenchShim
import Foundation
import Glibc

/// The lab's working directory, `DIR/.iobench-lab-<pid>-<random>/`: the backing files
/// (`ext4.img`, `xfs.img`), the mount points (`ext4/`, `xfs/`) and `owner` (the pid and
/// its start time, so that `--cleanup` never mistakes a new process with a reused pid
/// for the lab that made the directory).
public struct LabWorkspace: Sendable {
    public static let prefix = ".iobench-lab-"
    public static let ownerFile = "owner"

    public let path: String

    public func file(_ name: String) -> String { path + "/" + name }

    /// Creates a new workspace in `dir` (mode 0700) and records its owner.
    public static func create(in dir: String) throws(IOBenchError) -> LabWorkspace {
        let base = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        var lastError = Errno(0)
        for _ in 0 ..< 10 {
            let suffix = String(UInt32.random(in: 0 ... .max), radix: 16)
            let path = "\(base)/\(prefix)\(getpid())-\(suffix)"
            if mkdir(path, 0o700) == 0 {
                let ws = LabWorkspace(path: path)
                let owner = "\(getpid()) \(processStartTime(getpid()) ?? 0)\n"
                guard FileManager.default.createFile(atPath: ws.file(ownerFile), contents: Data(owner.utf8)) else {
                    rmdir(path)
                    throw .runFailed("cannot write \(ws.file(ownerFile)); check that \(dir) is writable")
                }
                return ws
            }
            lastError = Errno.current
            if lastError.rawValue != EEXIST { break }
        }
        throw .badInput("cannot create the lab's directory in \(dir): \(lastError); pass a writable directory with --dir")
    }

    /// The pid in a workspace name (`.iobench-lab-<pid>-<random>`).
    public static func pid(inName name: String) -> Int32? {
        guard name.hasPrefix(prefix) else { return nil }
        return name.dropFirst(prefix.count).split(separator: "-").first.flatMap { Int32($0) }
    }

    /// The workspace directory a path lies in (the nearest `.iobench-lab-*` component), or nil.
    public static func workspace(containing path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard let i = parts.lastIndex(where: { $0.hasPrefix(prefix) && pid(inName: String($0)) != nil }) else { return nil }
        return parts[...i].joined(separator: "/")
    }

    /// Field 22 of /proc/PID/stat: the process's start time in clock ticks since boot.
    static func processStartTime(_ pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 22 is fields[19].
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// The lab workspace that `dir` lies in (by its real path, so symlinks do not hide
    /// it), or nil. A lab made inside another lab's workspace would be swept away by the
    /// other's teardown.
    public static func enclosingWorkspace(of dir: String) -> String? {
        guard let real = realpath(dir, nil) else { return nil }
        defer { free(real) }
        var path = String(cString: real)
        while path.count > 1 {
            let name = String(path.split(separator: "/").last ?? "")
            if pid(inName: name) != nil, hasOwnerFile(path) { return path }
            path = (path as NSString).deletingLastPathComponent
        }
        return nil
    }

    /// Whether `path` holds a lab's owner file (`PID STARTTIME`): a directory without one
    /// was not made by `iobench lab` (labs write it right after creating the directory),
    /// so `--cleanup` never removes it, nor what is attached to it.
    public static func hasOwnerFile(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path + "/" + ownerFile, encoding: .utf8) else { return false }
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        return f.count == 2 && Int32(f[0]) != nil && UInt64(f[1]) != nil
    }

    /// Whether the lab that made the workspace at `path` is still running: its pid is
    /// alive and, when the owner file says so, started at the recorded time.
    public static func ownerIsAlive(_ path: String) -> (alive: Bool, pid: Int32?) {
        let name = String(path.split(separator: "/").last ?? "")
        var pid = Self.pid(inName: name)
        var startTime: UInt64?
        if let text = try? String(contentsOfFile: path + "/" + ownerFile, encoding: .utf8) {
            let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            if f.count >= 2 { pid = Int32(f[0]) ?? pid; startTime = UInt64(f[1]) }
        }
        guard let pid else { return (false, nil) }
        if pid == getpid() { return (true, pid) }
        guard kill(pid, 0) == 0 || errno == EPERM else { return (false, pid) }
        if let startTime, startTime != 0, let now = processStartTime(pid), now != startTime { return (false, pid) }
        return (true, pid)
    }

    /// Removes the workspace: its files and directories, never crossing into another
    /// filesystem (a mount that could not be unmounted keeps its contents) and never
    /// following symbolic links. Returns what could not be removed.
    @discardableResult
    public static func remove(_ path: String) -> [String] {
        var st = stat()
        guard lstat(path, &st) == 0 else { return errno == ENOENT ? [] : ["\(path): \(Errno.current)"] }
        var left: [String] = []
        removeTree(path, root: path, device: st.st_dev, left: &left)
        return left
    }

    private static func removeTree(_ path: String, root: String, device: dev_t, left: inout [String]) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            guard st.st_dev == device else {
                left.append("\(path) (still a mount point)")
                return
            }
            // Another lab's workspace inside this one is that lab's to remove.
            if path != root, pid(inName: String(path.split(separator: "/").last ?? "")) != nil, hasOwnerFile(path) {
                left.append("\(path) (another lab's directory)")
                return
            }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                removeTree(path + "/" + name, root: root, device: device, left: &left)
            }
            if rmdir(path) != 0 { left.append("\(path): \(Errno.current)") }
        } else if unlink(path) != 0 {
            left.append("\(path): \(Errno.current)")
        }
    }
}

/// What a lab, or `--cleanup`, left on the system: loop devices bound to a file in a
/// workspace, mounts under one, workspace directories.
public struct LabLeftovers: Sendable, Equatable {
    public var loopDevices: [(device: String, backingFile: String)]
    public var mounts: [Mounts.Entry]
    public var directories: [String]

    public var isEmpty: Bool { loopDevices.isEmpty && mounts.isEmpty && directories.isEmpty }

    public static func == (a: LabLeftovers, b: LabLeftovers) -> Bool {
        a.mounts == b.mounts && a.directories == b.directories
            && a.loopDevices.map(\.device) == b.loopDevices.map(\.device)
            && a.loopDevices.map(\.backingFile) == b.loopDevices.map(\.backingFile)
    }

    /// Leftovers of the workspace `path` only: never those of a workspace nested in it.
    public static func of(workspace path: String) -> LabLeftovers {
        let inside: (String) -> Bool = { p in
            (p == path || p.hasPrefix(path + "/")) && LabWorkspace.workspace(containing: strippedDeleted(p)) == path
        }
        var st = stat()
        return LabLeftovers(
            loopDevices: LoopDevice.bound().filter { inside($0.backingFile) },
            mounts: Mounts.entries().filter { inside($0.mountPoint) },
            directories: lstat(path, &st) == 0 ? [path] : [])
    }

    /// Leftovers of every lab: loop devices and mounts anywhere whose path lies in a
    /// `.iobench-lab-*` directory, and the workspace directories in `dir`.
    public static func all(in dir: String?) -> LabLeftovers {
        let isLab: (String) -> Bool = { LabWorkspace.workspace(containing: $0) != nil }
        var dirs: [String] = []
        if let dir {
            let base = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            where LabWorkspace.pid(inName: name) != nil {
                dirs.append(base + "/" + name)
            }
        }
        return LabLeftovers(loopDevices: LoopDevice.bound().filter { isLab($0.backingFile) },
                            mounts: Mounts.entries().filter { isLab($0.mountPoint) },
                            directories: dirs)
    }

    /// The workspaces these leftovers belong to.
    public var workspaces: [String] {
        var out: [String] = []
        let paths = mounts.map(\.mountPoint) + loopDevices.map { Self.strippedDeleted($0.backingFile) } + directories
        for p in paths {
            if let w = LabWorkspace.workspace(containing: p) ?? (LabWorkspace.pid(inName: String(p.split(separator: "/").last ?? "")) != nil ? p : nil),
               !out.contains(w) { out.append(w) }
        }
        return out
    }

    /// What keeps a loop device bound: mounts of it outside the lab (a bind mount, a second
    /// mount), as " (mounted at /x: unmount it, then run 'iobench lab --cleanup')", or "".
    public static func usersOf(loopDevice device: String) -> String {
        let elsewhere = Mounts.entries().filter { $0.source == device && LabWorkspace.workspace(containing: $0.mountPoint) == nil }
        guard !elsewhere.isEmpty else { return " (in use: the kernel unbinds it when its last user closes it)" }
        return " (mounted at \(elsewhere.map(\.mountPoint).joined(separator: ", ")), not by the lab: unmount it there, then run 'iobench lab --cleanup')"
    }

    /// A backing file's path without the " (deleted)" sysfs appends to removed files.
    public static func strippedDeleted(_ p: String) -> String {
        p.hasSuffix(" (deleted)") ? String(p.dropLast(" (deleted)".count)) : p
    }

    /// One line per leftover; a loop device's says what still holds it.
    public var lines: [String] {
        mounts.map { "mount \($0.mountPoint) (\($0.type) on \($0.source))" }
            + loopDevices.map { "loop device \($0.device) -> \($0.backingFile)" + Self.usersOf(loopDevice: $0.device) }
            + directories.map { "directory \($0)" }
    }
}

/// Processes with their working directory, root or an open file under `path`, as
/// " (held by pid N (comm), ...)", or "" when none is found.
func holders(of path: String) -> String {
    var found: [String] = []
    let prefix = path.hasSuffix("/") ? path : path + "/"
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(entry), pid != getpid() else { continue }
        var links = ["/proc/\(entry)/cwd", "/proc/\(entry)/root"]
        links += ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(entry)/fd")) ?? []).map { "/proc/\(entry)/fd/\($0)" }
        let hit = links.contains { l in
            guard let t = try? FileManager.default.destinationOfSymbolicLink(atPath: l) else { return false }
            return t.hasPrefix(prefix) || t == path
        }
        if hit {
            let comm = ((try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
            found.append("pid \(pid) (\(comm))")
        }
        if found.count >= 5 { break }
    }
    return found.isEmpty ? "" : " (held by \(found.joined(separator: ", ")); it is released when that process leaves)"
}

/// `iobench lab --cleanup`: removes what labs that ended without tearing down (SIGKILL,
/// a crash, a power cut of the process) left behind.
public enum LabCleanup {
    public struct Report: Sendable {
        /// What was done, one line each.
        public var actions: [String] = []
        /// Labs still running, left alone.
        public var skipped: [String] = []
        /// What could not be removed.
        public var failures: [String] = []
    }

    /// Cleans every lab whose process is gone: unmounts (lazily when busy), detaches its
    /// loop devices, removes its workspace.
    public static func run(dir: String?) -> Report {
        var report = Report()
        let found = LabLeftovers.all(in: dir)
        for ws in found.workspaces {
            guard LabWorkspace.hasOwnerFile(ws) else {
                report.skipped.append("\(ws): has no lab owner file, so iobench lab did not make it; left alone (remove it yourself if it is yours)")
                continue
            }
            let owner = LabWorkspace.ownerIsAlive(ws)
            if owner.alive {
                report.skipped.append("\(ws): its lab is still running (pid \(owner.pid.map(String.init) ?? "?")); left alone")
                continue
            }
            clean(workspace: ws, into: &report)
        }
        return report
    }

    /// Removes one workspace and everything attached to it (also used by a lab's own
    /// teardown as a last sweep).
    static func clean(workspace ws: String, into report: inout Report) {
        let here = LabLeftovers.of(workspace: ws)
        // Deepest mount first.
        for m in here.mounts.sorted(by: { $0.mountPoint.count > $1.mountPoint.count }) {
            switch Mounts.unmount(m.mountPoint) {
            case .done: report.actions.append("unmounted \(m.mountPoint) (\(m.type) on \(m.source))")
            case .lazily(let why): report.actions.append("unmounted \(m.mountPoint) lazily: \(why)")
            case .failed(let why): report.failures.append(why)
            }
        }
        let remaining = LabLeftovers.of(workspace: ws).loopDevices
        // A loop device set up with AUTOCLEAR is released by the kernel with its last mount.
        for l in here.loopDevices where !remaining.contains(where: { $0.device == l.device }) {
            report.actions.append("released \(l.device) (\(l.backingFile)) with its mount (autoclear)")
        }
        for l in remaining {
            if let err = LoopDevice.detach(devicePath: l.device) {
                report.failures.append(err)
            } else if !LoopDevice.bound().contains(where: { $0.device == l.device }) {
                report.actions.append("detached \(l.device) (\(l.backingFile))")
            }
            // Still bound: the kernel unbinds it (autoclear) when its last user lets go;
            // the check below names what holds it.
        }
        // Something still attached (a loop device held by a process in a lazily unmounted
        // filesystem) keeps the workspace and its owner file, so --cleanup finds it later.
        let still = LabLeftovers.of(workspace: ws)
        if !still.loopDevices.isEmpty || !still.mounts.isEmpty {
            report.failures += still.mounts.map { "still mounted: \($0.mountPoint) (\($0.type) on \($0.source))\(holders(of: $0.mountPoint))" }
            report.failures += still.loopDevices.map { "still bound: loop device \($0.device) -> \($0.backingFile)\(LabLeftovers.usersOf(loopDevice: $0.device))" }
            return
        }
        var st = stat()
        if lstat(ws, &st) == 0 {
            let left = LabWorkspace.remove(ws)
            if left.isEmpty { report.actions.append("removed \(ws)") } else { report.failures += left.map { "cannot remove \($0)" } }
        }
    }
}
