import Foundation
import Glibc
import IOBenchPlatform
import IOBenchWorkload

/// A file the outputs must never replace (the target, an input), with the role it
/// plays, for the error message.
public struct ProtectedFile: Sendable {
    public var path: String
    public var role: String
    public init(_ path: String, role: String) { self.path = path; self.role = role }
}

/// Where output goes, and what it may replace. Every file iobench writes for the user
/// (`--output`, `--hist-log`, `--hgrm`, `--plot`, `compare -o`, `merge -o`, `report -o`)
/// goes through here, so one rule holds for all of them:
///
/// - a new file is written under a temporary name in its directory and renamed into
///   place, so a reader never sees half of it;
/// - a symlink is followed: the file it points to is replaced in *its* directory;
/// - a character device or FIFO (`/dev/null`, a pipe a CI step reads) is written
///   through, never replaced by a regular file; a FIFO nobody reads is an error, not a hang;
/// - a directory, block device or socket is refused;
/// - the target or an input is never an output (same inode, or the same path for a
///   file not created yet);
/// - an existing regular file that is not iobench's own output is only replaced with
///   `--force-overwrite`.
///
/// Every refusal is bad input (exit 2) with one line naming the option and the fix.
public struct OutputGuard: Sendable {
    public var forceOverwrite: Bool
    public var protected: [ProtectedFile]

    public init(forceOverwrite: Bool = false, protected: [ProtectedFile] = []) {
        self.forceOverwrite = forceOverwrite
        self.protected = protected
    }

    enum Destination: Equatable {
        /// A regular file, new or to be replaced, at this canonical path.
        case file(path: String, existingMode: mode_t?)
        /// A character device or FIFO: opened and written, never renamed over.
        case writeThrough(path: String, isFIFO: Bool)
    }

    /// Checks that `path` may be written, without writing anything: run before the
    /// measurement, so a bad output path never costs a run.
    public func check(_ path: String, option: String, perCase: Bool = false) throws(IOBenchError) {
        _ = try resolve(path, option: option, perCase: perCase)
    }

    /// Checks, then writes `data` to `path` by the rule above. `perCase`: iobench named
    /// the file (a case's file in the directory given to `option`, as `--hgrm` and
    /// `--profile-folded` do), so an error must not suggest naming another file.
    public func write(_ data: Data, to path: String, option: String, perCase: Bool = false) throws(IOBenchError) {
        switch try resolve(path, option: option, perCase: perCase) {
        case .writeThrough(let p, let fifo):
            try Self.writeThrough(data, path: p, isFIFO: fifo, shownAs: path, option: option)
        case .file(let p, let mode):
            try Self.replaceAtomically(data, canonical: p, mode: mode, shownAs: path, option: option)
        }
    }

    func resolve(_ path: String, option: String, perCase: Bool = false) throws(IOBenchError) -> Destination {
        guard !path.isEmpty else { throw .badInput("\(option) is empty; name a file to write") }
        var st = stat()
        if stat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFDIR where perCase:
                throw .badInput("\(option): \(path) is a directory, where iobench writes this case's file; move it away or give \(option) another directory")
            case S_IFDIR:
                throw .badInput("\(option) \(path) is a directory; name a file in it, e.g. \(option) \(path.hasSuffix("/") ? path : path + "/")result.json")
            case S_IFBLK:
                throw .badInput("\(option) \(path) is a block device; iobench never writes block devices: name a regular file")
            case S_IFCHR:
                return .writeThrough(path: path, isFIFO: false)
            case S_IFIFO:
                return .writeThrough(path: path, isFIFO: true)
            case S_IFREG:
                let canonical = Self.canonical(path)
                try checkNotProtected(path, canonical: canonical, st: st, option: option)
                if st.st_size > 0 && !forceOverwrite && !Self.isIOBenchOutput(path) {
                    throw .badInput("\(option) \(path) exists and is not an iobench output; choose another file, remove it, or pass --force-overwrite to replace it")
                }
                return .file(path: canonical, existingMode: st.st_mode & 0o7777)
            default:
                throw .badInput("\(option) \(path) is a socket or another special file; name a regular file, a FIFO or a character device")
            }
        }
        let err = errno
        guard err == ENOENT else {
            throw .badInput("cannot write \(option) \(path): \(Errno(err)); check the path and its permissions")
        }
        // Missing: a dangling symlink names the file it would create, elsewhere.
        var lst = stat()
        var leaf = path
        if lstat(path, &lst) == 0, (lst.st_mode & S_IFMT) == S_IFLNK {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(path, &buf, buf.count - 1)
            guard n > 0 else {
                throw .badInput("cannot write \(option) \(path): the symlink cannot be read (\(Errno.current))")
            }
            let dest = String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            leaf = dest.hasPrefix("/") ? dest : Target.parentDirectory(of: path) + "/" + dest
            // A chain of dangling links is not worth following: refuse it.
            if lstat(leaf, &lst) == 0 {
                throw .badInput("cannot write \(option) \(path): it is a symlink to \(dest), which cannot be resolved; name a regular file")
            }
        }
        let dir = Target.parentDirectory(of: leaf)
        var dst = stat()
        guard stat(dir, &dst) == 0 else {
            let e = Errno.current
            throw .badInput("cannot write \(option) \(path): directory \(dir) \(e.rawValue == ENOENT ? "does not exist" : "cannot be used (\(e))"); create it or choose another path")
        }
        guard (dst.st_mode & S_IFMT) == S_IFDIR else {
            throw .badInput("cannot write \(option) \(path): \(dir) is not a directory; choose another path")
        }
        let canonical = Self.canonical(leaf)
        try checkNotProtected(path, canonical: canonical, st: nil, option: option)
        return .file(path: canonical, existingMode: nil)
    }

    func checkNotProtected(_ shown: String, canonical: String, st: stat?, option: String) throws(IOBenchError) {
        // A file that is also this process's stdout or stderr (`--output /proc/self/fd/1 > f`):
        // replacing it would leave the report in an unlinked file.
        if let st {
            for (fd, name) in [(Int32(1), "standard output"), (Int32(2), "standard error")] {
                var fst = stat()
                if fstat(fd, &fst) == 0, (fst.st_mode & S_IFMT) == S_IFREG, fst.st_dev == st.st_dev, fst.st_ino == st.st_ino {
                    throw .badInput("\(option) \(shown) is the file iobench's \(name) goes to; name another file, or drop the option and keep the redirection")
                }
            }
        }
        for p in protected {
            var pst = stat()
            let exists = stat(p.path, &pst) == 0
            let sameInode = exists && st != nil && pst.st_dev == st!.st_dev && pst.st_ino == st!.st_ino
            if sameInode || Self.canonical(p.path) == canonical {
                throw .badInput("\(option) \(shown) is \(p.role) (\(p.path)); iobench never writes its output over it: choose another file")
            }
        }
    }

    // MARK: writing

    static func writeAll(_ fd: Int32, _ data: Data) -> Int32? {
        var failure: Int32?
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                done += n
            }
        }
        return failure
    }

    static func writeThrough(_ data: Data, path: String, isFIFO: Bool, shownAs: String, option: String) throws(IOBenchError) {
        // O_NONBLOCK: opening a FIFO that nobody reads fails with ENXIO instead of waiting forever.
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let e = errno
            if e == ENXIO && isFIFO {
                throw .badInput("cannot write \(option) \(shownAs): it is a FIFO that no process reads; start its reader first, or name a regular file")
            }
            throw .badInput("cannot write \(option) \(shownAs): \(Errno(e))")
        }
        defer { close(fd) }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        // A reader that goes away must not kill iobench with SIGPIPE: it is an error here.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        if let e = writeAll(fd, data) {
            throw .badInput("cannot write \(option) \(shownAs): \(Errno(e))")
        }
    }

    static func replaceAtomically(_ data: Data, canonical: String, mode: mode_t?, shownAs: String, option: String) throws(IOBenchError) {
        let dir = Target.parentDirectory(of: canonical)
        let name = String(canonical[canonical.index(after: canonical.lastIndex(of: "/")!)...])
        let tmp = dir + "/." + name + ".iobench-tmp-\(getpid())-\(UInt32.random(in: 0 ... UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw .badInput("cannot write \(option) \(shownAs): creating a file in \(dir) failed: \(Errno.current); choose a writable directory")
        }
        // The replaced file keeps its permissions.
        if let mode { _ = fchmod(fd, mode) }
        if let e = writeAll(fd, data) {
            close(fd); unlink(tmp)
            throw .badInput("cannot write \(option) \(shownAs): \(Errno(e))")
        }
        if fsync(fd) != 0 {
            let e = Errno.current
            close(fd); unlink(tmp)
            throw .badInput("cannot write \(option) \(shownAs): fsync failed: \(e)")
        }
        close(fd)
        if rename(tmp, canonical) != 0 {
            let e = Errno.current
            unlink(tmp)
            throw .badInput("cannot write \(option) \(shownAs): \(e)")
        }
    }

    // MARK: paths and ownership

    /// The absolute path with every symlink resolved; for a file that does not exist
    /// yet, its resolved directory and its name.
    public static func canonical(_ path: String) -> String {
        if let r = realpath(path, nil) {
            defer { free(r) }
            return String(cString: r)
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let r = realpath(Target.parentDirectory(of: path), nil) else { return path }
        defer { free(r) }
        let d = String(cString: r)
        return (d == "/" ? "" : d) + "/" + name
    }

    /// True when the file holds something iobench writes: a JSON document whose `schema`
    /// starts with `iobench/`, or a report, plot, page, interval log or percentile
    /// distribution, recognised by what iobench puts at its start.
    public static func isIOBenchOutput(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &head, head.count)
        guard n > 0 else { return n == 0 }
        let text = String(decoding: head[..<n], as: UTF8.self)
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        if trimmed.hasPrefix("{") {
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_size < 1 << 30, let data = FileManager.default.contents(atPath: path),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let schema = object["schema"] as? String else { return false }
            return schema.hasPrefix("iobench/")
        }
        let signatures = [
            "<!-- generated by iobench",                      // SVG plots
            "<meta name=\"generator\" content=\"iobench",      // the HTML page
            "<testsuites name=\"iobench",                      // JUnit
            "#[iobench ",                                      // the interval log
        ]
        if signatures.contains(where: { text.contains($0) }) { return true }
        let firstLine = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        if firstLine.hasPrefix("iobench ") || firstLine.hasPrefix("### iobench ") { return true }   // text, Markdown
        if firstLine.hasPrefix("[iobench folded stacks: ") { return true }                          // --profile-folded
        if firstLine.hasPrefix("compare ") && firstLine.contains(" → ") { return true }               // a comparison's text
        // HdrHistogram's percentile distribution (.hgrm): its header line.
        return firstLine.contains("Value") && firstLine.contains("Percentile TotalCount 1/(1-Percentile)")
    }
}

public enum ResultWriter {
    /// Writes the JSON result by the output rule of `OutputGuard`.
    public static func writeJSON(_ result: RunResult, to path: String, guard g: OutputGuard = OutputGuard(),
                                 option: String = "--output") throws(IOBenchError) {
        let data: Data
        do { data = try result.jsonData() } catch { throw .runFailed("cannot encode the result: \(error)") }
        try g.write(data + Data("\n".utf8), to: path, option: option)
    }
}
