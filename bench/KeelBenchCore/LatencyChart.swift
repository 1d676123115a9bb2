// The latency percentile distribution as CSV and as an SVG chart: latency
// against percentile on the usual HdrHistogram axis, where the distance to
// 100 % is log-scaled so the tail (99 %, 99.9 %, 99.99 %) gets room.

import Glibc
import Histogram

/// One point of the percentile distribution.
public struct PercentilePoint: Equatable, Sendable {
    /// 0...100
    public let percentile: Double
    /// Latency at that percentile, in microseconds.
    public let latencyMicroseconds: Double
    /// Replies at or below that latency.
    public let totalCount: UInt64
}

/// CSV and SVG renderings of a latency distribution.
public enum LatencyChart {
    /// Percentile points from `histogram` (nanoseconds), five ticks per halving.
    public static func points(_ histogram: Histogram<UInt64>) -> [PercentilePoint] {
        guard histogram.totalCount > 0 else { return [] }
        var points: [PercentilePoint] = []
        let total = Double(histogram.totalCount)
        for value in histogram.percentiles(ticksPerHalfDistance: 5) {
            // The iterator's `count` is the count at that value, not a running
            // total; the share at or below the value gives the running total.
            points.append(
                PercentilePoint(
                    percentile: value.percentileLevelIteratedTo,
                    latencyMicroseconds: Double(value.value) / 1_000,
                    totalCount: UInt64((value.percentile / 100 * total).rounded())))
        }
        return points
    }

    /// "percentile,latency_us,total_count,one_over_one_minus_percentile"
    public static func csv(_ points: [PercentilePoint]) -> String {
        var lines = ["percentile,latency_us,total_count,one_over_one_minus_percentile"]
        for point in points {
            let inverse = point.percentile >= 100 ? "inf" : format(1 / (1 - point.percentile / 100), decimals: 2)
            lines.append(
                "\(format(point.percentile, decimals: 5)),\(format(point.latencyMicroseconds, decimals: 3)),"
                    + "\(point.totalCount),\(inverse)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Horizontal position of a percentile: log10(1 / (1 - p)), capped at 99.9999 %.
    static func x(_ percentile: Double) -> Double {
        let capped = min(percentile, 99.9999) / 100
        return log10(1 / (1 - capped))
    }

    /// An SVG line chart of the distribution, with axes and labels.
    public static func svg(_ points: [PercentilePoint], title: String) -> String {
        let width = 800.0
        let height = 480.0
        let left = 70.0
        let right = 20.0
        let top = 40.0
        let bottom = 60.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let maxX = max(x(points.last?.percentile ?? 99.9), 3)
        let maxLatency = niceCeiling(points.map(\.latencyMicroseconds).max() ?? 1)
        func px(_ percentile: Double) -> Double { left + x(percentile) / maxX * plotWidth }
        func py(_ latency: Double) -> Double { top + plotHeight - latency / maxLatency * plotHeight }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

            """
        // Axes.
        svg +=
            line(left, top, left, top + plotHeight) + line(left, top + plotHeight, left + plotWidth, top + plotHeight)
        // Percentile ticks: 0, 90, 99, 99.9, ... as far as the data goes.
        var tick = 0.0
        var tickPercentiles: [Double] = [0]
        while x(tick) < maxX - 0.01 {
            tick = tick == 0 ? 90 : 100 - (100 - tick) / 10
            if x(tick) <= maxX + 0.01 { tickPercentiles.append(tick) }
        }
        for percentile in tickPercentiles {
            let xPos = px(percentile)
            svg += line(xPos, top + plotHeight, xPos, top + plotHeight + 5)
            svg += line(xPos, top, xPos, top + plotHeight, color: "#e0e0e0")
            svg += text(xPos, top + plotHeight + 20, "\(trimmed(percentile))%", anchor: "middle")
        }
        // Latency ticks: five even steps.
        for step in 0...5 {
            let latency = maxLatency * Double(step) / 5
            let yPos = py(latency)
            svg += line(left - 5, yPos, left, yPos)
            if step > 0 { svg += line(left, yPos, left + plotWidth, yPos, color: "#e0e0e0") }
            svg += text(left - 8, yPos + 4, trimmed(latency), anchor: "end")
        }
        svg += text(left + plotWidth / 2, height - 15, "percentile", anchor: "middle")
        svg +=
            "<text x=\"18\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 18 \(top + plotHeight / 2))\">latency (µs)</text>\n"
        // The distribution.
        let coordinates = points.map {
            "\(format(px($0.percentile), decimals: 1)),\(format(py($0.latencyMicroseconds), decimals: 1))"
        }
        svg +=
            "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"\(coordinates.joined(separator: " "))\"/>\n"
        svg += "</svg>\n"
        return svg
    }

    /// The smallest 1, 2 or 5 × 10^k at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for factor in [1.0, 2, 5, 10] where factor * magnitude >= value { return factor * magnitude }
        return 10 * magnitude
    }

    private static func trimmed(_ value: Double) -> String {
        var text = format(value, decimals: 4)
        while text.contains(".") && (text.hasSuffix("0") || text.hasSuffix(".")) { text.removeLast() }
        return text
    }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String = "black") -> String
    {
        "<line x1=\"\(format(x1, decimals: 1))\" y1=\"\(format(y1, decimals: 1))\" x2=\"\(format(x2, decimals: 1))\" "
            + "y2=\"\(format(y2, decimals: 1))\" stroke=\"\(color)\"/>\n"
    }

    private static func text(_ x: Double, _ y: Double, _ content: String, anchor: String) -> String {
        "<text x=\"\(format(x, decimals: 1))\" y=\"\(format(y, decimals: 1))\" text-anchor=\"\(anchor)\">"
            + "\(escape(content))</text>\n"
    }

    private static func escape(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
    }
}
