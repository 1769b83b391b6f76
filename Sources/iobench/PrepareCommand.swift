import ArgumentParser
import Atomics
import Foundation
import IOBenchKit

/// `iobench prepare PATH --size S --layout L`: builds a file with a known extent layout
/// for the path classes, checks it with FIEMAP and reports what was achieved.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Create a file with a known extent layout (contiguous, fragmented, unwritten, mixed) and report its extent map.",
        discussion: """
        Written data is iobench's stamp (every 8-byte word holds its file offset XOR a magic \
        value), so every read of the file can be verified. The layout is checked with FIEMAP \
        afterwards; a layout that could not be achieved is an error (exit 3) and the file is \
        removed. The file is marked with the xattr user.iobench.layout.

        Layouts:
          contiguous         stamped data written front to back (few large extents)
          fragmented[:SIZE]  stamped data in separate extents of SIZE (default 64k);
                             ext4: every other chunk exchanged with a donor file
                             (EXT4_IOC_MOVE_EXT); xfs: writes interleaved with a
                             spacer file under an extent-size hint
          unwritten          fallocate only: unwritten extents, reads return zeros
          mixed[:SIZE]       the first 3/4 fragmented, the last 1/4 unwritten

        Examples:
          iobench prepare /mnt/test/frag.dat --size 1g --layout fragmented:64k
          iobench prepare /mnt/test/mixed.dat --size 256m --layout mixed --format json
        """
    )

    @Argument(help: ArgumentHelp("The file to create. An existing file is replaced only with --force-overwrite.", valueName: "path"))
    var path: String

    @Option(name: .long, help: ArgumentHelp("File size, a multiple of the filesystem block size (e.g. 64m, 1g).", valueName: "size"))
    var size: String

    @Option(name: .long, help: ArgumentHelp("contiguous, fragmented[:SIZE], unwritten or mixed[:SIZE].", valueName: "layout"))
    var layout: String = "contiguous"

    @Flag(name: .customLong("force-overwrite"), help: "Replace PATH when it exists (a regular file only).")
    var forceOverwrite = false

    @Option(name: .long, help: ArgumentHelp("Report format on stdout: text or json.", valueName: "format"))
    var format: TextOrJSON = .text

    func run() throws {
        // Bad input first (exit 2), before the signal thread, which may not be creatable.
        let parsedLayout = try Layout.parse(layout)
        let bytes = try Units.parseSize(size, option: "size")
        // A signal ends the build cleanly: partial files are removed, exit 130/143.
        try SignalStop.install(ManagedAtomic<Bool>(false))
        let report = try LayoutBuilder.prepare(path: path, size: bytes, layout: parsedLayout, force: forceOverwrite) {
            StandardError.write(($0 + "\n"))
        }
        if format == .json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            StandardOutput.write(String(decoding: try enc.encode(report), as: UTF8.self))
            StandardOutput.write("\n")
        } else {
            print(Self.render(report), terminator: "")
        }
    }

    static func render(_ r: PrepareReport) -> String {
        let e = r.extents
        var s = "prepared \(r.path): \(Units.formatSize(r.size)), layout \(r.layout)\n"
        s += "  filesystem:  \(r.filesystem), block \(Units.formatSize(r.fsBlockSize))\n"
        s += "  method:      \(r.method)\n"
        var content = "\(Units.formatSize(r.writtenBytes)) stamped data"
        if r.unwrittenBytes > 0 { content += (r.writtenBytes > 0 ? " + " : "") + "\(Units.formatSize(r.unwrittenBytes)) unwritten" }
        if r.writtenBytes == 0 { content = "\(Units.formatSize(r.unwrittenBytes)) unwritten (reads return zeros)" }
        s += "  content:     \(content)\n"
        if let chunk = r.extentBytes, let n = r.expectedChunks {
            s += "  asked for:   \(n) extents of \(Units.formatSize(chunk)), each physically apart\n"
        }
        s += "  extents:     \(e.records) FIEMAP records (\(e.written) written, \(e.unwritten) unwritten), \(e.discontinuities) physical discontinuities\n"
        s += "  lengths:     min \(Units.formatSize(e.minLength)), median \(Units.formatSize(e.medianLength)), max \(Units.formatSize(e.maxLength))\n"
        if r.writtenBytes > 0 {
            s += "  verified:    \(r.verifiedBlocks) blocks read back with O_DIRECT hold the stamp\n"
        }
        s += "  marker:      \(r.marked ? "user.iobench.layout=\(r.layout)" : "not set (no user xattrs on this filesystem)")\n"
        return s
    }
}
