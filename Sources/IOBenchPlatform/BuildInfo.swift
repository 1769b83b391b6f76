import CIOBenchShim

/// What the build recorded about itself (scripts/build-info.sh, through the Makefile):
/// nil when it recorded nothing, as a plain `swift build` does.
public enum BuildInfo {
    public static let commit: String? = nonEmpty(iob_build_commit())
    public static let date: String? = nonEmpty(iob_build_date())

    static func nonEmpty(_ p: UnsafePointer<CChar>?) -> String? {
        guard let p else { return nil }
        let s = String(cString: p)
        return s.isEmpty ? nil : s
    }
}
