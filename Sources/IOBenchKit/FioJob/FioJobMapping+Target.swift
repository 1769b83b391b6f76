import Foundation
import Glibc

extension FioSectionMapper {
    /// The file, as fio names it, and the region read.
    func target(_ out: inout FioJobCase) throws(IOBenchError) {
        let file = section["filename"], dir = section["directory"]
        let files = try file.map { s throws(IOBenchError) -> [String] in
            guard let v = s.value, !v.isEmpty else { throw fail(s, "needs a file or block device") }
            return Self.colonList(v)
        }
        if let files, files.count > 1 {
            throw fail(file!, "names \(files.count) files; iobench reads one file per section: give each file a section of its own")
        }
        if let name = files?.first, name == "-" {
            throw fail(file!, "fio's '-' is stdin; iobench reads a file or a block device")
        }
        let dirs = try dir.map { s throws(IOBenchError) -> [String] in
            guard let v = s.value, !v.isEmpty else { throw fail(s, "needs a directory") }
            return Self.colonList(v)
        }
        // fio spreads the jobs of a section over several directories only for the files it names itself.
        if let dirs, dirs.count > 1, files == nil {
            throw fail(dir!, "names \(dirs.count) directories, which fio shares out among the jobs; iobench reads one file per section: name one directory")
        }
        // fio's own name is <job>.<job number>.<file number>: every job of the section reads job 0's.
        let name = files?.first ?? "\(section.name).0.0"
        var path = dirs.map { $0[0] + "/" + name } ?? name
        // A relative name holding '=' would read as LABEL=PATH.
        if !path.contains("/") && path.contains("=") { path = "./" + path }
        out.path = path
        out.pathLocation = (file ?? dir)?.location ?? section.location

        let sizeSetting = section["size"]
        out.regionSize = try parsed("size") { v, s in FioValues.size(v, kbBase: s.kbBase) }
        out.sizeLocation = sizeSetting?.location
        if out.regionSize == 0 { throw fail(sizeSetting!, "write a size, or leave size= out to read the whole file") }
        var st = stat()
        if stat(path, &st) != 0 {
            guard out.regionSize != nil else {
                throw failSection("\(Units.printable(path)) does not exist and size= is not set; fio needs size= to create it, and so does iobench: add size=, e.g. size=1g")
            }
        } else if (st.st_mode & S_IFMT) != S_IFREG && (st.st_mode & S_IFMT) != S_IFBLK {
            throw .badInput("\(out.pathLocation): \(Units.printable(path)) (job [\(Units.printable(section.name))]) is neither a file nor a block device; name one")
        }
        let bs = out.spec.blockSize
        let bsWhere = { (why: String) -> IOBenchError in section["bs"].map { fail($0, why) } ?? failSection("bs (fio's default 4k): \(why)") }
        if let lbs = Target.probeLogicalBlockSize(path: path), bs % lbs != 0 {
            throw bsWhere("O_DIRECT at \(Units.printable(path)) reads multiples of \(lbs) bytes; write a multiple, e.g. bs=4k")
        }
        if let size = out.regionSize, UInt64(bs) > size {
            throw bsWhere("the block is larger than size=\(Units.formatSize(size)); lower bs or raise size")
        }
    }

    /// When the case ends. fio with time_based reads for runtime; without it fio reads
    /// size bytes once and stops early at runtime; number_ios stops either sooner.
    func ending(_ out: inout FioJobCase) throws(IOBenchError) {
        let timeBased = try flag("time_based")
        let runtime = try parsed("runtime") { v, _ in FioValues.time(v) }.flatMap { $0 == 0 ? nil : $0 }
        let number = try parsed("number_ios") { v, s in FioValues.count(v, kbBase: s.kbBase) }.flatMap { $0 == 0 ? nil : $0 }
        if timeBased && runtime == nil {
            throw fail(section["time_based"]!, "fio ignores time_based without a runtime (it warns); add runtime=, e.g. runtime=10s, or drop time_based")
        }
        out.spec.runtimeNs = runtime
        out.spec.ioLimit = number
        if timeBased { return }
        // One pass over the region: size/bs reads per job (drawn at random with
        // repeats for randread, where fio reads every block once).
        var bytes = out.regionSize
        var st = stat()
        if bytes == nil, stat(out.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { bytes = UInt64(st.st_size) }
        guard let bytes else {
            throw failSection("without time_based, fio reads size= bytes once, and iobench needs size= to count those reads for \(Units.printable(out.path)); add size=, or time_based with runtime=")
        }
        let pass = bytes / UInt64(out.spec.blockSize)
        guard pass > 0 else { throw failSection("\(Units.printable(out.path)) holds less than one block of bs=\(out.spec.blockSize) bytes; lower bs or set size=") }
        out.spec.ioLimit = min(number ?? pass, pass)
    }

    /// fio's list of names: split at ':', where '\:' is a colon in a name; empty names
    /// are skipped.
    static func colonList(_ text: String) -> [String] {
        var out: [String] = [], current = ""
        for c in text {
            if c == ":" && current.hasSuffix("\\") {
                current.removeLast()
                current.append(c)
            } else if c == ":" {
                if !current.isEmpty { out.append(current) }
                current = ""
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty || out.isEmpty { out.append(current) }
        return out
    }
}
