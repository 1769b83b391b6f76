import Foundation
import IOBenchResults

/// Flame graphs of `--profile`'s stacks as self-contained SVG (no script: each frame's
/// figures are in its tooltip). A frame's width is its inclusive share of the case's
/// samples; frames sit on their callers, the outermost at the bottom; siblings in name
/// order, as flamegraph.pl draws them. Frames are coloured by layer (`KernelLayers`).
///
/// The differential graph (class vs reference) draws the class's stacks, widths in its ns
/// per read, each frame coloured by how its own (self) ns per read differs from the same
/// stack in the reference: red where the class spends more, blue where less, white where
/// the same (the colour saturates at the largest difference); the tooltip has both the
/// inclusive and the self difference. Stacks only the reference
/// has are not drawn; the difference table lists them.
public enum FlameGraph {
    static let width = 1180.0
    static let rowHeight = 16.0
    /// Frames narrower than this many pixels are left out (with their callees).
    static let minWidth = 0.6

    final class Node {
        let name: String
        var value: Double = 0
        var children: [String: Node] = [:]
        init(_ name: String) { self.name = name }

        func add(_ frames: ArraySlice<Substring>, _ v: Double) {
            value += v
            guard let first = frames.first else { return }
            let key = String(first)
            let child = children[key] ?? { let n = Node(key); children[key] = n; return n }()
            child.add(frames.dropFirst(), v)
        }

        var depth: Int { 1 + (children.values.map(\.depth).max() ?? 0) }

        /// The node at the path `frames` below this one.
        func node(at frames: [String]) -> Node? {
            var n = self
            for f in frames {
                guard let c = n.children[f] else { return nil }
                n = c
            }
            return n
        }

        /// The value at the path `frames` below this node (0 when absent).
        func value(at frames: [String]) -> Double { node(at: frames)?.value ?? 0 }

        /// Samples with this frame innermost.
        var selfValue: Double { value - children.values.reduce(0) { $0 + $1.value } }
    }

    static func tree(_ counts: [String: UInt64], scale: Double) -> Node {
        let root = Node("all")
        for (stack, n) in counts { root.add(stack.split(separator: ";")[...], Double(n) * scale) }
        return root
    }

    /// Layer colours: warm for the kernel's I/O path, blue-grey for the rest.
    static let layerColours: [String: String] = [
        "iobench (user space)": "#7fb3d5", "io_uring/aio": "#f5b041", "syscall entry": "#f8c471",
        "filesystem": "#e67e22", "VFS and iomap": "#eb984e", "block layer": "#dc7633", "driver": "#cb4335",
        "interrupts and softirq": "#af7ac5", "scheduler": "#85c1e9", "other": "#d5d8dc",
    ]

    static func colour(of name: String) -> String {
        layerColours[KernelLayers.ownLayer(of: name) ?? "other"] ?? "#d5d8dc"
    }

    /// Red (more) or blue (less), by `delta` against the largest magnitude.
    static func diffColour(_ delta: Double, max m: Double) -> String {
        let t = m > 0 ? min(abs(delta) / m, 1) : 0
        let fade = Int((255 * (1 - t)).rounded())
        return delta >= 0 ? String(format: "#ff%02x%02x", fade, fade) : String(format: "#%02x%02xff", fade, fade)
    }

    /// One case's flame graph.
    public static func render(_ c: CaseResult, standalone: Bool = true) -> String? {
        guard let p = c.profile, let stacks = p.stacks else { return nil }
        let counts = stacks.counts
        let total = Double(counts.values.reduce(0, &+))
        guard total > 0 else { return nil }
        let cpu = p.layers.compactMap(\.nsPerRead).reduce(0, +)
        let root = tree(counts, scale: 1)
        return draw(root, title: "Flame graph: \(c.label)",
                    subtitle: "\(p.samples) samples (\(p.event) at \(p.frequencyHz) Hz); width = share of the samples; colour = layer",
                    standalone: standalone) { path, node in
            let share = node.value / total
            var tip = String(format: "%@ — %.0f samples, %.2f%%", node.name, node.value, share * 100)
            if cpu > 0 { tip += String(format: ", %.0f ns/read", share * cpu) }
            return (colour(of: node.name), tip)
        }
    }

    /// The differential flame graph of a class against its reference (`ProfileDifference`).
    public static func renderDifference(_ c: CaseResult, vs ref: CaseResult, standalone: Bool = true) -> String? {
        guard let p = c.profile, let q = ref.profile, let a = p.stacks?.counts, let b = q.stacks?.counts else { return nil }
        let na = Double(a.values.reduce(0, &+)), nb = Double(b.values.reduce(0, &+))
        let cpuA = p.layers.compactMap(\.nsPerRead).reduce(0, +), cpuB = q.layers.compactMap(\.nsPerRead).reduce(0, +)
        guard na > 0, nb > 0, cpuA > 0, cpuB > 0 else { return nil }
        let rootA = tree(a, scale: cpuA / na), rootB = tree(b, scale: cpuB / nb)
        // Colour is the difference in the frame's own (self) time at the same stack, so
        // that red and blue sit where time was added or saved, not on every caller below;
        // the largest such difference sets the scale.
        func selfDelta(_ path: [String], _ n: Node) -> Double { n.selfValue - (rootB.node(at: path)?.selfValue ?? 0) }
        var biggest = 0.0
        func walk(_ n: Node, _ path: [String]) {
            for (name, child) in n.children {
                let p = path + [name]
                biggest = max(biggest, abs(selfDelta(p, child)))
                walk(child, p)
            }
        }
        walk(rootA, [])
        return draw(rootA, title: "Differential flame graph: \(c.label) vs \(ref.label)",
                    subtitle: String(format: "width = %@'s ns per read (%.0f; reference %.0f); colour = self time against the reference: red more, blue less (full colour at %.0f ns)",
                                     c.label, cpuA, cpuB, biggest),
                    standalone: standalone) { path, node in
            let other = rootB.value(at: path), d = selfDelta(path, node)
            let tip = String(format: "%@ — %.0f ns/read vs %.0f (%+.0f); self %+.0f", node.name, node.value, other, node.value - other, d)
            return (diffColour(d, max: biggest), tip)
        }
    }

    /// Lays out and draws a tree; `style` gives each frame's fill and tooltip from its
    /// path (outermost first) and node.
    static func draw(_ root: Node, title: String, subtitle: String, standalone: Bool,
                     style: ([String], Node) -> (fill: String, tip: String)) -> String {
        let depth = root.depth - 1
        let top = 44.0, bottom = 8.0
        let height = top + Double(max(depth, 1)) * rowHeight + bottom
        var svg = SVGCanvas(width: width + 20, height: height)
        svg.text(title, x: 10, y: 18, size: 14, weight: "bold")
        svg.text(subtitle, x: 10, y: 34, size: 11, fill: "#555555")
        let scale = root.value > 0 ? width / root.value : 0
        func place(_ n: Node, path: [String], x: Double, level: Int) {
            var cx = x
            for name in n.children.keys.sorted() {
                let child = n.children[name]!
                let w = child.value * scale
                defer { cx += w }
                guard w >= minWidth else { continue }
                let p = path + [name]
                let y = height - bottom - Double(level + 1) * rowHeight
                let s = style(p, child)
                svg.open("g")
                svg.element("title", [], text: s.tip)
                svg.rect(10 + cx, y, w - 0.4, rowHeight - 1, fill: s.fill, extra: [("rx", "1.5")])
                let chars = Int((w - 6) / 6.6)
                if chars >= 3 {
                    let label = name.count <= chars ? name : String(name.prefix(chars - 2)) + ".."
                    svg.text(label, x: 10 + cx + 3, y: y + rowHeight - 4.5, size: 11)
                }
                svg.close("g")
                place(child, path: p, x: cx, level: level + 1)
            }
        }
        place(root, path: [], x: 0, level: 0)
        return svg.render(title: title, description: subtitle, standalone: standalone)
    }

    /// The HTML report's flame graphs of a run: one per profiled case, then one
    /// differential graph per pair of profiled classes.
    static func section(_ r: RunResult) -> String {
        var h = ""
        for c in r.cases {
            if let svg = render(c, standalone: false) { h += "<figure>\n\(svg)<figcaption>\(HTMLReport.e("Flame graph of \(c.label): hover a frame for its samples and ns per read."))</figcaption>\n</figure>\n" }
        }
        let byIdentity = Dictionary(r.cases.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        for d in ProfileDifference.pairs(r) {
            guard let c = byIdentity[d.caseIdentity], let ref = byIdentity[d.referenceIdentity],
                  let svg = renderDifference(c, vs: ref, standalone: false) else { continue }
            h += "<figure>\n\(svg)<figcaption>\(HTMLReport.e("Differential flame graph: \(d.caseLabel) against \(d.referenceLabel); red frames cost more per read in the class, blue ones less."))</figcaption>\n</figure>\n"
        }
        return h.isEmpty ? "" : "<h3>Flame graphs</h3>\n" + h
    }
}
