import Foundation

/// A tiny SVG writer: elements appended in drawing order, every text and attribute value
/// escaped for XML, so whatever a case label or a file name holds, the output is
/// well-formed. Coordinates are in CSS pixels with the origin at the top left.
public struct SVGCanvas {
    public let width: Double
    public let height: Double
    private var body: [String] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// Text for XML character data and attribute values: `& < > " '` escaped, and the
    /// characters XML 1.0 forbids (C0 controls other than tab, LF and CR) dropped.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// A coordinate or length: at most two decimals, no exponent, no "-0".
    public static func num(_ v: Double) -> String {
        // Whatever a result file holds, a coordinate stays a plain finite number.
        guard v.isFinite else { return "0" }
        let r = (min(max(v, -1e9), 1e9) * 100).rounded() / 100
        if r == r.rounded() { return String(Int(r)) }
        var s = String(format: "%.2f", r)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    static func attributes(_ attrs: [(String, String)]) -> String {
        attrs.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }

    public mutating func raw(_ markup: String) { body.append(markup) }

    public mutating func open(_ tag: String, _ attrs: [(String, String)] = []) {
        body.append("<\(tag)\(Self.attributes(attrs))>")
    }

    public mutating func close(_ tag: String) { body.append("</\(tag)>") }

    public mutating func element(_ tag: String, _ attrs: [(String, String)], text: String? = nil) {
        if let text {
            body.append("<\(tag)\(Self.attributes(attrs))>\(Self.escape(text))</\(tag)>")
        } else {
            body.append("<\(tag)\(Self.attributes(attrs))/>")
        }
    }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, class cls: String? = nil,
                              stroke: String? = nil, width: Double? = nil, dash: String? = nil) {
        var a: [(String, String)] = [("x1", Self.num(x1)), ("y1", Self.num(y1)), ("x2", Self.num(x2)), ("y2", Self.num(y2))]
        if let cls { a.append(("class", cls)) }
        if let stroke { a.append(("stroke", stroke)) }
        if let width { a.append(("stroke-width", Self.num(width))) }
        if let dash, !dash.isEmpty { a.append(("stroke-dasharray", dash)) }
        element("line", a)
    }

    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, extra: [(String, String)] = []) {
        element("rect", [("x", Self.num(x)), ("y", Self.num(y)), ("width", Self.num(max(w, 0))),
                         ("height", Self.num(max(h, 0))), ("fill", fill)] + extra)
    }

    public enum Anchor: String { case start, middle, end }

    public mutating func text(_ s: String, x: Double, y: Double, anchor: Anchor = .start, size: Double = 12,
                              weight: String? = nil, fill: String? = nil, rotate: Double? = nil, extra: [(String, String)] = []) {
        var a: [(String, String)] = [("x", Self.num(x)), ("y", Self.num(y))]
        if anchor != .start { a.append(("text-anchor", anchor.rawValue)) }
        if size != 12 { a.append(("font-size", Self.num(size))) }
        if let weight { a.append(("font-weight", weight)) }
        if let fill { a.append(("fill", fill)) }
        if let rotate { a.append(("transform", "rotate(\(Self.num(rotate)) \(Self.num(x)) \(Self.num(y)))")) }
        element("text", a + extra, text: s)
    }

    /// Path data through the points: `M x y L x y ...`.
    public static func pathData(_ points: [(Double, Double)]) -> String {
        points.enumerated().map { i, p in (i == 0 ? "M" : "L") + "\(num(p.0)) \(num(p.1))" }.joined(separator: " ")
    }

    /// The whole document. `standalone` adds the XML declaration (a `.svg` file); inline
    /// in HTML it is left out.
    public func render(title: String, description: String? = nil, standalone: Bool = true) -> String {
        var out = standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : ""
        // Inline in HTML the namespace is implied (and the page then names no URL at all).
        out += standalone ? "<svg xmlns=\"http://www.w3.org/2000/svg\" " : "<svg "
        out += "width=\"\(Self.num(width))\" height=\"\(Self.num(height))\" "
        out += "viewBox=\"0 0 \(Self.num(width)) \(Self.num(height))\" role=\"img\" "
        out += "font-family=\"DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        out += "<title>\(Self.escape(title))</title>\n"
        if let description { out += "<desc>\(Self.escape(description))</desc>\n" }
        out += "<rect x=\"0\" y=\"0\" width=\"\(Self.num(width))\" height=\"\(Self.num(height))\" fill=\"#ffffff\"/>\n"
        out += body.joined(separator: "\n")
        out += "\n</svg>\n"
        return out
    }
}
