import Foundation
import IOBenchWorkload
import IOBenchMeasurement
import IOBenchHistogram
import IOBenchPlatform
import IOBenchEngines

extension RunResult {
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let percentiles { enc.userInfo[ReportedPercentiles.userInfoKey] = percentiles }
        return try enc.encode(self)
    }

    public static func decode(_ data: Data, source: String) throws(IOBenchError) -> RunResult {
        guard let object = try? JSONSerialization.jsonObject(with: data), let header = object as? [String: Any] else {
            throw .badInput("\(source) is not an iobench JSON result (it does not parse as a JSON object); pass a file written by 'iobench run --format json'")
        }
        guard let schema = header["schema"] as? String, schema == schemaName else {
            let found = header["schema"].map { $0 is String ? "'\(Units.printable("\($0)"))'" : "not a string" } ?? "missing"
            throw .badInput("\(source) is not an iobench result (schema is \(found), expected '\(schemaName)')")
        }
        let raw = header["schema_version"]
        var version: Int?
        // Foundation hands JSON numbers and booleans over as NSNumber, and `is Bool` holds
        // for both: a JSON true is told apart by its class.
        if let raw, String(describing: type(of: raw)).contains("Boolean") {
            version = nil
        } else if let i = raw as? Int {
            version = i
        } else if let d = raw as? Double, d.isFinite, d == d.rounded(), abs(d) < 1e15 {
            version = Int(d)
        }
        guard let version else {
            throw .badInput("\(source) has no valid schema version (schema_version must be the whole number \(currentSchemaVersion)); pass a file written by 'iobench run --format json'")
        }
        guard version == currentSchemaVersion else {
            throw .badInput("\(source) has schema version \(version); this iobench reads version \(currentSchemaVersion)")
        }
        var result: RunResult
        do {
            result = try JSONDecoder().decode(RunResult.self, from: data)
        } catch let damaged as DamagedHistogram {
            throw .badInput(damaged.message(source: source, header: header))
        } catch {
            throw .badInput("\(source) is a malformed iobench result: \(Units.printable("\(error)"))")
        }
        try result.validateHistograms(source: source)
        // Written with --percentiles: the standard percentiles the reports use come back
        // from the histograms (the file lists only the asked ones).
        if let list = result.percentiles { result.reportPercentiles(list) }
        return result
    }
}

// Readers accept any v1 result: a field added within version 1 may be missing from a
// file written before it existed, and then takes its documented default.
extension CaseResult {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        label = try c.decode(String.self, forKey: .label)
        status = try c.decode(Status.self, forKey: .status)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        failureClass = try c.decodeIfPresent(FailureClass.self, forKey: .failureClass)
        config = try c.decode(CaseSpec.self, forKey: .config)
        ios = try c.decodeIfPresent(UInt64.self, forKey: .ios) ?? 0
        elapsedNs = try c.decodeIfPresent(UInt64.self, forKey: .elapsedNs) ?? 0
        iops = try c.decodeIfPresent(Double.self, forKey: .iops) ?? 0
        bytesPerSecond = try c.decodeIfPresent(Double.self, forKey: .bytesPerSecond) ?? 0
        latency = try c.decodeIfPresent(LatencySummary.self, forKey: .latency)
        cpu = try c.decodeIfPresent(CPUSummary.self, forKey: .cpu)
        errors = try c.decodeIfPresent(ErrorSummary.self, forKey: .errors) ?? ErrorSummary()
        timelineIOPS = try c.decodeIfPresent([UInt64].self, forKey: .timelineIOPS) ?? []
        timelineTruncated = try c.decodeIfPresent(Bool.self, forKey: .timelineTruncated) ?? false
        histogram = try c.decodeIfPresent(HistogramEncoding.self, forKey: .histogram)
        let summary = latency
        histogram?.restoreTotals(from: summary)
        jobs = try c.decodeIfPresent([JobSummary].self, forKey: .jobs) ?? []
        interrupted = try c.decodeIfPresent(Bool.self, forKey: .interrupted) ?? false
        plan = try c.decodeIfPresent(PlanSummary.self, forKey: .plan)
        targetPath = try c.decodeIfPresent(String.self, forKey: .targetPath)
        targetKey = try c.decodeIfPresent(String.self, forKey: .targetKey)
        roundPosition = try c.decodeIfPresent(Int.self, forKey: .roundPosition)
        pathVerification = try c.decodeIfPresent(PathVerification.self, forKey: .pathVerification)
        ring = try c.decodeIfPresent(RingInfo.self, forKey: .ring)
        clock = try c.decodeIfPresent(CaseClock.self, forKey: .clock)
        openLoop = try c.decodeIfPresent(OpenLoopSummary.self, forKey: .openLoop)
        profile = try c.decodeIfPresent(ProfileSummary.self, forKey: .profile)
        profileNote = try c.decodeIfPresent(String.self, forKey: .profileNote)
        repeats = try c.decodeIfPresent([RepeatResult].self, forKey: .repeats).map { reps in
            var reps = reps
            for i in reps.indices { let l = reps[i].latency; reps[i].histogram?.restoreTotals(from: l) }
            return reps
        }
        spread = try c.decodeIfPresent(RepeatSpread.self, forKey: .spread)
        sources = try c.decodeIfPresent([MergeSource].self, forKey: .sources)
    }
}

extension ErrorSummary {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ioErrors = try c.decodeIfPresent(UInt64.self, forKey: .ioErrors) ?? 0
        shortReads = try c.decodeIfPresent(UInt64.self, forKey: .shortReads) ?? 0
        firstError = try c.decodeIfPresent(String.self, forKey: .firstError)
        verifiedReads = try c.decodeIfPresent(UInt64.self, forKey: .verifiedReads) ?? 0
        verifyMismatches = try c.decodeIfPresent(UInt64.self, forKey: .verifyMismatches) ?? 0
        firstMismatchOffset = try c.decodeIfPresent(UInt64.self, forKey: .firstMismatchOffset)
    }
}
