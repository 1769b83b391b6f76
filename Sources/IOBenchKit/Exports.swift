// IOBenchKit is the library's front: importing it brings every layer, so a library user
// (and the command line) writes one import. The layers themselves import only what lies
// below them (Package.swift).
@_exported import IOBenchPlatform
@_exported import IOBenchHistogram
@_exported import IOBenchEngines
@_exported import IOBenchWorkload
@_exported import IOBenchMeasurement
@_exported import IOBenchResults
@_exported import IOBenchReports
