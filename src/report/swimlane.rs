//! The failure page's picture of the whole run: one lane per node, simulated time left to right,
//! and what happened where, as the trace recorded it (not as the plan intended): fault windows
//! that fired, pauses, crashes and restarts, lost and held-back messages, and the violation.

use crate::report::junit::escape;
use fleetsim_sim::{Event, EventKind};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Width of the picture in pixels: it fits a 1,400 px window with the page's margins.
pub const SWIMLANE_WIDTH_PX: usize = 1_300;
/// Room left of the lanes for their names, always on screen.
const NAMES_PX: usize = 170;
const LANE_PX: usize = 26;
const TOP_PX: usize = 22;
const AXIS_PX: usize = 24;
/// Most marks of one kind drawn on one lane; the rest are counted in the lane's tooltip.
pub const MARKS_PER_LANE_MAX: usize = 400;
/// The lane of the nemesis's network-wide fault windows.
pub const FAULTS_LANE: &str = "nemesis";

/// A span on one lane: a fault window, a pause, or a node down between crash and restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Lane (node) it lies on.
    pub lane: String,
    /// Start, in simulated microseconds.
    pub from_us: u64,
    /// End; `None` while still open at the end of the trace.
    pub to_us: Option<u64>,
    /// What it was, in words.
    pub label: String,
    /// Which kind of span: `fault`, `pause` or `down`.
    pub kind: &'static str,
}

/// The spans of a trace: nemesis fault windows (`window N: ...` starts and stops), node pauses
/// and other per-node faults, and each node's time down between a crash and its restart.
pub fn spans(events: &[Event]) -> Vec<Span> {
    let mut open: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut spans: Vec<Span> = Vec::new();
    for event in events {
        let (key, kind, label) = match event.kind {
            EventKind::FaultStart | EventKind::FaultStop if event.node == FAULTS_LANE => {
                let window = event.detail.split(':').next().unwrap_or_default().to_string();
                (window, "fault", event.detail.clone())
            }
            EventKind::FaultStart | EventKind::FaultStop => ("node fault".to_string(), "pause", event.detail.clone()),
            EventKind::Crash | EventKind::Restart => ("down".to_string(), "down", "down (crashed)".to_string()),
            _ => continue,
        };
        let key = (event.node.clone(), key);
        let starts = matches!(event.kind, EventKind::FaultStart | EventKind::Crash);
        if starts {
            open.insert(key, spans.len());
            spans.push(Span { lane: event.node.clone(), from_us: event.at_us, to_us: None, label, kind });
        } else if let Some(position) = open.remove(&key) {
            spans[position].to_us = Some(event.at_us);
        }
    }
    spans
}

/// The swimlane picture of `events`, lanes in `lanes` order.
pub fn render(events: &[Event], lanes: &[String]) -> String {
    let end_us = events.iter().map(|event| event.at_us).max().unwrap_or(0).max(1_000);
    let height = TOP_PX + lanes.len().max(1) * LANE_PX + AXIS_PX;
    let plot = SWIMLANE_WIDTH_PX - NAMES_PX - 10;
    let x = |at_us: u64| NAMES_PX + (u128::from(at_us) * plot as u128 / u128::from(end_us)) as usize;
    let lane_of: BTreeMap<&str, usize> = lanes.iter().enumerate().map(|(index, lane)| (lane.as_str(), index)).collect();
    let top = |lane: usize| TOP_PX + lane * LANE_PX;
    let mut svg = format!(
        "<svg id=\"swimlane\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{SWIMLANE_WIDTH_PX}\" height=\"{height}\" \
         viewBox=\"0 0 {SWIMLANE_WIDTH_PX} {height}\" role=\"img\" aria-label=\"the run, one lane per node\" font-size=\"12\" font-family=\"system-ui,sans-serif\">\n"
    );
    for (index, lane) in lanes.iter().enumerate() {
        let shade = if index % 2 == 0 { "#f7f7f7" } else { "#ffffff" };
        let _ = writeln!(
            svg,
            "<rect x=\"0\" y=\"{0}\" width=\"{SWIMLANE_WIDTH_PX}\" height=\"{LANE_PX}\" fill=\"{shade}\"/>\
             <text class=\"lane-name\" x=\"6\" y=\"{1}\" font-weight=\"bold\">{2}</text>",
            top(index),
            top(index) + 17,
            escape(lane)
        );
    }
    axis(&mut svg, end_us, height - AXIS_PX, &x);
    for span in spans(events) {
        let Some(lane) = lane_of.get(span.lane.as_str()) else { continue };
        let (from, to) = (x(span.from_us), x(span.to_us.unwrap_or(end_us)));
        let color = match span.kind {
            "down" => "#6d0016",
            "pause" => "#9c6ade",
            _ => "#f4a261",
        };
        let width = (to - from).max(2);
        let label = shorten(&span.label, width / 7);
        let _ = writeln!(
            svg,
            "<rect x=\"{from}\" y=\"{}\" width=\"{width}\" height=\"{}\" fill=\"{color}\" fill-opacity=\"0.75\" rx=\"2\"><title>{} from {} to {}</title></rect>\
             <text x=\"{}\" y=\"{}\" fill=\"#222\" font-size=\"10\">{}</text>",
            top(*lane) + 4,
            LANE_PX - 8,
            escape(&span.label),
            milliseconds(span.from_us),
            span.to_us.map(milliseconds).unwrap_or_else(|| "the end".to_string()),
            from + 3,
            top(*lane) + 16,
            escape(&label)
        );
    }
    marks(&mut svg, events, &lane_of, &x, &top);
    violation(&mut svg, events, height - AXIS_PX, &x);
    svg.push_str("</svg>\n");
    svg
}

/// Ticks for the events that are points in time: lost and held-back messages, timeouts, fault
/// points and lost writes; at most `MARKS_PER_LANE_MAX` of each kind per lane.
fn marks(
    svg: &mut String,
    events: &[Event],
    lane_of: &BTreeMap<&str, usize>,
    x: &impl Fn(u64) -> usize,
    top: &impl Fn(usize) -> usize,
) {
    let mut drawn: BTreeMap<(usize, EventKind), usize> = BTreeMap::new();
    for event in events {
        let (color, row) = match event.kind {
            EventKind::Drop => ("#b00020", 0),
            EventKind::HeldBack => ("#6a3d9a", 0),
            EventKind::Timeout => ("#e76f51", 1),
            EventKind::FaultPoint => ("#b00020", 1),
            EventKind::Storage => ("#000000", 1),
            _ => continue,
        };
        let Some(lane) = lane_of.get(event.node.as_str()).copied() else { continue };
        let count = drawn.entry((lane, event.kind)).or_default();
        *count += 1;
        if *count > MARKS_PER_LANE_MAX {
            continue;
        }
        let y = top(lane) + 3 + row * 10;
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"{y}\" width=\"2\" height=\"9\" fill=\"{color}\"><title>{}</title></rect>",
            x(event.at_us),
            escape(&event.to_string())
        );
    }
}

fn violation(svg: &mut String, events: &[Event], bottom: usize, x: &impl Fn(u64) -> usize) {
    let Some(event) = events.iter().find(|event| event.kind == EventKind::Violation) else { return };
    let at = x(event.at_us);
    let anchor = if at > SWIMLANE_WIDTH_PX - 300 { "end" } else { "start" };
    let text_x = if anchor == "end" { at - 4 } else { at + 4 };
    let _ = writeln!(
        svg,
        "<g id=\"violation-marker\"><line x1=\"{at}\" y1=\"4\" x2=\"{at}\" y2=\"{bottom}\" stroke=\"#b00020\" stroke-width=\"2\"/>\
         <text x=\"{text_x}\" y=\"14\" text-anchor=\"{anchor}\" fill=\"#b00020\" font-weight=\"bold\">violation at {}: {}</text></g>",
        milliseconds(event.at_us),
        escape(&shorten(&event.detail, 60))
    );
}

fn axis(svg: &mut String, end_us: u64, y: usize, x: &impl Fn(u64) -> usize) {
    let end_ms = end_us / 1000;
    let step_ms = [1, 2, 5]
        .iter()
        .flat_map(|base| (0..8).map(move |power| base * 10u64.pow(power)))
        .filter(|step| end_ms / step <= 10)
        .min()
        .unwrap_or(1);
    let _ = writeln!(svg, "<line x1=\"{NAMES_PX}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#888\"/>", x(end_us));
    let mut at_ms = 0;
    while at_ms <= end_ms {
        let tick = x(at_ms * 1000);
        let _ = writeln!(
            svg,
            "<line x1=\"{tick}\" y1=\"{TOP_PX}\" x2=\"{tick}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{tick}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{at_ms} ms</text>",
            y + 4,
            y + 16
        );
        at_ms += step_ms;
    }
}

fn milliseconds(at_us: u64) -> String {
    format!("{}.{:03} ms", at_us / 1000, at_us % 1000)
}

/// `text` cut to at most `characters_max` characters, an ellipsis marking the cut.
pub fn shorten(text: &str, characters_max: usize) -> String {
    if text.chars().count() <= characters_max {
        return text.to_string();
    }
    if characters_max < 2 {
        return String::new();
    }
    let mut short: String = text.chars().take(characters_max - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(index: u64, at_ms: u64, node: &str, kind: EventKind, detail: &str) -> Event {
        Event { index, at_us: at_ms * 1000, node: node.to_string(), peer: None, kind, detail: detail.to_string() }
    }

    #[test]
    fn spans_come_from_the_trace_and_a_window_never_stopped_stays_open() {
        let events = [
            event(0, 10, FAULTS_LANE, EventKind::FaultStart, "window 0: Latency { extra_ms_max: 5 }"),
            event(1, 20, "worker-1", EventKind::Crash, "node crashed"),
            event(2, 30, FAULTS_LANE, EventKind::FaultStop, "window 0: Latency"),
            event(3, 35, "worker-1", EventKind::Restart, "node restarted"),
            event(4, 40, FAULTS_LANE, EventKind::FaultStart, "window 1: Loss { percent: 3 }"),
            event(5, 50, "store", EventKind::Violation, "unique-ip: two VMs"),
        ];
        let found: Vec<(String, u64, Option<u64>, &str)> =
            spans(&events).into_iter().map(|span| (span.lane, span.from_us, span.to_us, span.kind)).collect();
        assert_eq!(
            found,
            vec![
                (FAULTS_LANE.to_string(), 10_000, Some(30_000), "fault"),
                ("worker-1".to_string(), 20_000, Some(35_000), "down"),
                (FAULTS_LANE.to_string(), 40_000, None, "fault"),
            ]
        );
        let lanes = vec!["store".to_string(), "worker-1".to_string(), FAULTS_LANE.to_string()];
        let svg = render(&events, &lanes);
        assert!(svg.contains("id=\"violation-marker\"") && svg.contains("violation at 50.000 ms"), "{svg}");
        assert_eq!(svg.matches("class=\"lane-name\"").count(), 3);
        assert!(svg.contains("width=\"1300\""), "the picture fits a 1,400 px window");
    }
}
