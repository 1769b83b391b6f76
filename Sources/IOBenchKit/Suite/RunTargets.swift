import Foundation
import Glibc

/// The targets of a run: `PATH` or `LABEL=PATH` as given, resolved to paths with the
/// labels that identify their cases (the target key of the JSON).
public enum RunTargets {
    /// A target's label: 1 to 32 of letters, digits, '.', '_' and '-', not starting with
    /// '.', '_' or '-'.
    public static func isValidLabel(_ s: Substring) -> Bool {
        guard let first = s.first, s.count <= 32, first.isASCII, first.isLetter || first.isNumber else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }

    /// `--target A,B` is `--target A --target B`: an argument that is not an existing
    /// path and holds ',' is a list (each item `PATH` or `LABEL=PATH`). A path that exists
    /// is one target even with a ',' in its name.
    public static func expandLists(_ targets: [String]) throws(IOBenchError) -> [String] {
        var out: [String] = []
        for arg in targets {
            var st = stat()
            guard lstat(arg, &st) != 0, arg.contains(",") else { out.append(arg); continue }
            let items = arg.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard !items.contains(where: \.isEmpty) else {
                throw .badInput("--target '\(Units.printable(arg))' has an empty item; write --target A,B (or --target A --target B)")
            }
            out += items
        }
        return out
    }

    /// `PATH` or `LABEL=PATH`. An argument naming an existing path is that path even when
    /// it holds '='. Otherwise text before the first '=' with no '/' in it is meant as a
    /// label and must be a valid one (a typo is refused, never created as a file); PATH
    /// may hold '=' too. A new file whose name holds '=' is written with a directory:
    /// ./k=v.dat.
    public static func parse(_ arg: String) throws(IOBenchError) -> (label: String?, path: String) {
        var st = stat()
        if lstat(arg, &st) == 0 { return (nil, arg) }
        guard let eq = arg.firstIndex(of: "="), !arg[..<eq].contains("/") else { return (nil, arg) }
        guard isValidLabel(arg[..<eq]) else {
            throw .badInput("--target '\(Units.printable(arg))': '\(Units.printable(String(arg[..<eq])))' is not a valid label (1 to 32 of A-Z a-z 0-9 . _ -, starting with a letter or digit); fix the label, or, for a new file whose name holds '=', give its path with a directory (./NAME)")
        }
        let path = String(arg[arg.index(after: eq)...])
        guard !path.isEmpty else {
            throw .badInput("--target '\(Units.printable(arg))' has a label but no path; write --target LABEL=PATH, e.g. --target \(arg[..<eq])=/mnt/ext4/iobench.dat")
        }
        return (String(arg[..<eq]), path)
    }

    /// The targets to read, in the order given, each with its label: nil for a run of
    /// one target (no target key: ids and baselines as always), else `LABEL` or the
    /// file name. Duplicate labels and one file named twice are refused. No target:
    /// `iobench.dat` in the scratch directory.
    public static func resolve(_ targets: [String], scratchDirectory: String?) throws(IOBenchError) -> [(label: String?, path: String)] {
        if targets.count <= 1 { return [(nil, try singlePath(targets, scratchDirectory: scratchDirectory))] }
        var out: [(label: String?, path: String)] = []
        var identities: [(String, String)] = []  // (file identity, path as given)
        for arg in targets {
            let (given, path) = try parse(arg)
            let name = fileName(path)
            let label = given ?? defaultLabel(path)
            // One file twice (a hard link, a symlink, two names of a device) first: the
            // labels would collide too, but that is not the mistake.
            let id = fileIdentity(path)
            if let (_, otherPath) = identities.first(where: { $0.0 == id }) {
                throw .badInput("--target \(otherPath) and --target \(path) are the same file; name each target once, e.g. --target a=PATH1 --target b=PATH2")
            }
            identities.append((id, path))
            guard isValidLabel(Substring(label)) else {
                throw .badInput("the file name '\(Units.printable(name))' of --target \(Units.printable(path)) cannot be its label (1-32 of A-Z a-z 0-9 . _ -, starting with a letter or digit); label it: --target a=\(Units.printable(path))")
            }
            if let other = out.first(where: { $0.label == label }) {
                throw .badInput("two targets are labelled '\(label)' (\(other.path) and \(path)); give each its own label, e.g. --target a=\(other.path) --target b=\(path)")
            }
            out.append((label, path))
        }
        return out
    }

    /// The one target's path: as given, else `iobench.dat` in the scratch directory,
    /// which must exist.
    public static func singlePath(_ targets: [String], scratchDirectory: String?) throws(IOBenchError) -> String {
        if let first = targets.first { return try parse(first).path }
        let base = scratchDirectory ?? RunRequest.defaultScratchDirectory
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: base, isDirectory: &isDir) else {
            throw .badInput("directory \(base) does not exist; create it, or pass an existing directory with --dir (or set IOBENCH_DIR)")
        }
        guard isDir.boolValue else {
            throw .badInput("\(base) is not a directory; pass a directory with --dir (or set IOBENCH_DIR)")
        }
        return (base.hasSuffix("/") ? base : base + "/") + "iobench.dat"
    }

    /// The label of a target given without one: its file name, with characters a label
    /// cannot hold written as '_' (`k=v.dat` → `k_v.dat`).
    public static func defaultLabel(_ path: String) -> String {
        String(fileName(path).map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "_" })
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// What makes two paths one file: the device of a block device, the inode of an
    /// existing file, else the canonical path of a file still to be created.
    static func fileIdentity(_ path: String) -> String {
        var st = stat()
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFBLK { return "blk:\(st.st_rdev)" }
            return "ino:\(st.st_dev):\(st.st_ino)"
        }
        return "path:" + OutputGuard.canonical(path)
    }

    /// Two opened targets that are one file (a hard link, or two names of one device).
    static func sameFile(_ a: Target, _ b: Target) -> Bool {
        var sa = stat(), sb = stat()
        guard fstat(a.fd, &sa) == 0, fstat(b.fd, &sb) == 0 else { return false }
        if (sa.st_mode & S_IFMT) == S_IFBLK || (sb.st_mode & S_IFMT) == S_IFBLK { return sa.st_rdev == sb.st_rdev }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
