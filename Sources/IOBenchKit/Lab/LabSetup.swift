import Foundation
import Glibc

extension Lab {
    /// The lab's directory: `dir`, else `$IOBENCH_DIR`, else the system temp directory,
    /// as a real path (the kernel reports loop backing files and mount points by their
    /// real paths).
    public static func resolveDirectory(_ dir: String?) throws(IOBenchError) -> String {
        let base = dir ?? ProcessInfo.processInfo.environment["IOBENCH_DIR"] ?? NSTemporaryDirectory()
        var st = stat()
        guard stat(base, &st) == 0 else {
            throw .badInput("directory \(base) does not exist; create it, or pass an existing directory with --dir (or set IOBENCH_DIR)")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw .badInput("\(base) is not a directory; pass a directory with --dir (or set IOBENCH_DIR)")
        }
        guard let real = realpath(base, nil) else { return base }
        defer { free(real) }
        return String(cString: real)
    }

    /// A lab's directory must not be inside another lab, nor on another lab's loop
    /// device: that lab's teardown would remove it, or one loop device would be measured
    /// on another. `named` says how the user gave it, for the message.
    public static func checkDirectory(_ dir: String, named: String) throws(IOBenchError) {
        if let ws = LabWorkspace.enclosingWorkspace(of: dir) {
            throw .badInput("\(named) \(dir) is inside the lab directory \(ws); another lab's teardown would remove it: pass a --dir outside any .iobench-lab-* directory")
        }
        // Reached another way (a bind mount of a lab's filesystem): the filesystem under
        // it sits on a loop device whose backing file is in a lab's directory.
        if let fs = StorageInfo.filesystem(of: dir), fs.source.hasPrefix("/dev/loop"),
           let backing = LoopDevice.bound().first(where: { $0.device == fs.source })?.backingFile,
           let ws = LabWorkspace.workspace(containing: LabLeftovers.strippedDeleted(backing)) {
            throw .badInput("\(named) \(dir) is on \(fs.source), a loop device of the lab in \(ws); a lab inside a lab measures one loop device on another and is torn down with it: pass a --dir on another filesystem")
        }
    }
}

extension LabCleanup {
    /// After a cleanup, judged by what is there now: what labs whose process is gone
    /// still left behind, and how many labs are running (left alone). Directories
    /// without an owner file are not a lab's (the cleanup reports them as skipped).
    public static func remaining(in dir: String) -> (stray: [String], running: Int) {
        let left = LabLeftovers.all(in: dir)
        let mine = left.workspaces.filter { LabWorkspace.hasOwnerFile($0) }
        let running = Set(mine.filter { LabWorkspace.ownerIsAlive($0).alive })
        let dead = mine.filter { !running.contains($0) }
        let stray = left.lines.filter { line in dead.contains { line.contains($0 + "/") || line.hasSuffix($0) } }
        return (stray, running.count)
    }
}
