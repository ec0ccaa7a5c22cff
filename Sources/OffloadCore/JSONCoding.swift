import Foundation

/// The JSON encoders and decoders every module uses, so dates and key order look the same everywhere.
public enum JSONCoding {
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(Timestamps.format(date))
        }
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    public static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = Timestamps.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 date: \(text)")
            }
            return date
        }
        return d
    }()
}

/// ISO 8601 timestamps with milliseconds, the one date format of the API.
public enum Timestamps {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let plainStyle = Date.ISO8601FormatStyle()

    /// `2026-12-01T15:55:37.319Z`: UTC, milliseconds. Written by hand (Foundation's format style cost a few µs
    /// per date, and every job answer and final event carries four of them); years 0001-9999 only.
    public static func format(_ date: Date) -> String {
        let millis = Self.millis(date)
        let (days, inDay) = millis.quotientAndRemainder(dividingBy: 86_400_000)
        let (dayNumber, msOfDay) = inDay < 0 ? (days - 1, inDay + 86_400_000) : (days, inDay)
        let (year, month, day) = civil(fromDays: dayNumber)
        guard (1...9999).contains(year) else { return style.format(date) }
        var bytes = canonical
        func put(_ value: Int64, at offset: Int, digits: Int) {
            var value = value
            for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, at: 0, digits: 4)
        put(month, at: 5, digits: 2)
        put(day, at: 8, digits: 2)
        put(msOfDay / 3_600_000, at: 11, digits: 2)
        put(msOfDay / 60_000 % 60, at: 14, digits: 2)
        put(msOfDay / 1000 % 60, at: 17, digits: 2)
        put(msOfDay % 1000, at: 20, digits: 3)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// ISO 8601 in UTC (`…Z`) with or without fractional seconds by hand; any other form (an offset, a
    /// single-digit field) through Foundation's parser.
    public static func parse(_ text: String) -> Date? {
        fastParse(text) ?? (try? style.parse(text)) ?? (try? plainStyle.parse(text))
    }

    /// The canonical form's separators, with the digits to fill in.
    private static let canonical = Array("0000-00-00T00:00:00.000Z".utf8)

    private static func fastParse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
            func number(_ offset: Int, _ digits: Int) -> Int64? {
                var value: Int64 = 0
                for index in offset..<(offset + digits) {
                    let digit = bytes[index] &- UInt8(ascii: "0")
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int64(digit)
                }
                return value
            }
            for offset in [4, 7, 10, 13, 16] where bytes[offset] != canonical[offset] { return nil }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
                let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                (1...12).contains(month), (1...days(inMonth: month, year: year)).contains(day),
                hour < 24, minute < 60, second < 60
            else { return nil }
            let seconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
            guard bytes.count > 20 else { return bytes[19] == UInt8(ascii: "Z") ? date(millis: seconds * 1000) : nil }
            // `.` and 1-9 digits before the `Z`; up to milliseconds the date is the one `date(millis:)` makes.
            let digits = bytes.count - 21
            guard bytes[19] == canonical[19], (1...9).contains(digits), let value = number(20, digits) else { return nil }
            if digits <= 3 {
                var millis = value
                for _ in digits..<3 { millis *= 10 }
                return date(millis: seconds * 1000 + millis)
            }
            return Date(timeIntervalSince1970: Double(seconds) + Double(value) / pow(10, Double(digits)))
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day number since 1970-01-01 (`civil_from_days`).
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func days(inMonth month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Milliseconds since 1970, the form dates take in the stores.
    public static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    public static func date(millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}
