import Foundation

/// A five-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC.
///
/// Fields take `*`, numbers, lists (`1,15`), ranges (`1-5`) and steps (`*/15`, `10-50/20`); day-of-week
/// counts 0–7 with both 0 and 7 for Sunday. As in Vixie cron, when both day fields are restricted a day
/// matches if either does. `@hourly`, `@daily`, `@weekly`, `@monthly` and `@yearly` stand for their usual
/// expressions.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    private let minutes: Set<Int>
    private let hours: Set<Int>
    private let days: Set<Int>
    private let months: Set<Int>
    private let weekdays: Set<Int>
    private let daysRestricted: Bool
    private let weekdaysRestricted: Bool

    private static let macros = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    ]

    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = Self.macros[trimmed.lowercased()] ?? trimmed
        let fields = expanded.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else {
            throw OffloadError.unprocessable("a cron expression has five fields (minute hour day month weekday), not \(fields.count)")
        }
        description = trimmed
        minutes = try Self.field(fields[0], "minute", 0...59)
        hours = try Self.field(fields[1], "hour", 0...23)
        days = try Self.field(fields[2], "day of month", 1...31)
        months = try Self.field(fields[3], "month", 1...12)
        weekdays = Set(try Self.field(fields[4], "day of week", 0...7).map { $0 % 7 })
        daysRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
    }

    private static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws -> Set<Int> {
        var values = Set<Int>()
        let invalid = OffloadError.unprocessable("cron \(name) field '\(text)' is not valid (\(range.lowerBound)–\(range.upperBound))")
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw invalid }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else { throw invalid }
                step = s
            }
            var lower = range.lowerBound
            var upper = range.upperBound
            if pieces[0] != "*" {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2, let first = Int(bounds[0]) else { throw invalid }
                lower = first
                upper = pieces.count == 2 && bounds.count == 1 ? range.upperBound : first
                if bounds.count == 2 {
                    guard let last = Int(bounds[1]) else { throw invalid }
                    upper = last
                }
            }
            guard range.contains(lower), range.contains(upper), lower <= upper else { throw invalid }
            values.formUnion(stride(from: lower, through: upper, by: step))
        }
        return values
    }

    /// The first time strictly after `date` (to the minute) that the expression matches; nil if none
    /// within eight years (such as February 30th).
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard var candidate = calendar.date(
            byAdding: .minute, value: 1,
            to: calendar.date(from: calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date))!)
        else { return nil }
        let limit = date.addingTimeInterval(8 * 366 * 86_400)
        while candidate <= limit {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: candidate)
            guard let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute, let weekday = c.weekday
            else { return nil }
            if !months.contains(month) {
                candidate = calendar.date(from: DateComponents(year: c.year, month: month + 1, day: 1))!
                continue
            }
            if !dayMatches(day: day, weekday: weekday - 1) {
                candidate = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: candidate))!
                continue
            }
            if !hours.contains(hour) {
                candidate = calendar.date(from: DateComponents(year: c.year, month: month, day: day, hour: hour + 1))!
                continue
            }
            if !minutes.contains(minute) {
                candidate = candidate.addingTimeInterval(60)
                continue
            }
            return candidate
        }
        return nil
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (daysRestricted, weekdaysRestricted) {
        case (true, true): return days.contains(day) || weekdays.contains(weekday)
        case (true, false): return days.contains(day)
        case (false, true): return weekdays.contains(weekday)
        case (false, false): return true
        }
    }
}
