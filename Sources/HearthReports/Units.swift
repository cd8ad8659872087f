import Foundation

/// Number formats shared by every output: hours with two decimals, percentages with one.
enum Units {
    static func hours(_ seconds: Double) -> String { String(format: "%.2f", seconds / 3600) }
    static func kWh(_ joules: Double?) -> String { joules.map { String(format: "%.3f", $0 / 3_600_000) } ?? "" }
    static func percent(_ ratio: Double?) -> String { ratio.map { String(format: "%.1f%%", $0 * 100) } ?? "" }

    static func iso(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
