import Trainer

/// RFC 4180 CSV: fields separated by commas, optionally in double quotes (a quote inside is
/// doubled), records ending in LF or CRLF; a quoted field may span lines.
enum CSV {
    /// The records of `text`, each a list of fields; a blank last line is ignored.
    static func parse(_ text: String, path: String) throws(TrainerError) -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = String.UnicodeScalarView()
        var quoted = false, afterQuote = false, line = 1
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return it.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    let d = next()
                    if d == "\"" { field.append("\"") } else { quoted = false; afterQuote = true; pending = d }  // d is re-read unquoted
                } else {
                    if c == "\n" { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case ",":
                record.append(String(field)); field = .init(); afterQuote = false
            case "\n":
                record.append(String(field)); field = .init(); afterQuote = false
                records.append(record); record = []; line += 1
            case "\r":
                continue
            case "\"" where field.isEmpty && !afterQuote:
                quoted = true
            default:
                if afterQuote { throw .badInput("\(path):\(line): text after a closing quote (quote a field whole, doubling inner quotes)") }
                field.append(c)
            }
        }
        if quoted { throw .badInput("\(path): a quoted field is not closed before the end of the file") }
        if !field.isEmpty || !record.isEmpty || afterQuote { record.append(String(field)); records.append(record) }
        return records
    }
}
