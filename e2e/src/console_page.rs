//! The sluice console page of the stack's Prometheus (`stack/config/consoles/sluice.html`),
//! rendered from the Grafana dashboard (`docker/grafana/dashboards/sluice.json`): one graph per
//! panel, in its order, with the panel's title, queries, legends and unit. The page is committed
//! so the stack needs nothing to build it; the test `console_dashboard` fails when the committed
//! page is not this rendering of the dashboard (`SLUICE_BLESS=1` rewrites it), so the two never
//! drift.

use serde_json::Value;

/// The committed page, relative to the repository root.
pub const PAGE: &str = "stack/config/consoles/sluice.html";
/// The Grafana dashboard it is rendered from.
pub const DASHBOARD: &str = "docker/grafana/dashboards/sluice.json";

/// One graph: a panel of the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// The panel's title.
    pub title: String,
    /// Its queries, in order.
    pub exprs: Vec<String>,
    /// Each query's legend, Grafana's `{{label}}` written as the console's `[[label]]`.
    pub names: Vec<String>,
    /// The unit of the y axis (Grafana's unit id: `s`, `ops`, `Bps`, `short`).
    pub unit: String,
}

/// The graphs of `dashboard`, one per panel that has queries.
pub fn graphs(dashboard: &Value) -> Vec<Graph> {
    let panels = dashboard["panels"].as_array().cloned().unwrap_or_default();
    panels
        .iter()
        .filter_map(|panel| {
            let targets = panel["targets"].as_array()?;
            let exprs: Vec<String> = targets
                .iter()
                .filter_map(|t| t["expr"].as_str().map(str::to_owned))
                .collect();
            let names = targets
                .iter()
                .filter(|t| t["expr"].is_string())
                .map(|t| console_legend(t["legendFormat"].as_str().unwrap_or("")))
                .collect();
            (!exprs.is_empty()).then(|| Graph {
                title: panel["title"].as_str().unwrap_or("").to_owned(),
                exprs,
                names,
                unit: panel["fieldConfig"]["defaults"]["unit"]
                    .as_str()
                    .unwrap_or("short")
                    .to_owned(),
            })
        })
        .collect()
}

/// Grafana's `{{label}}` legend as the console library's `[[label]]`.
fn console_legend(legend: &str) -> String {
    legend.replace("{{", "[[").replace("}}", "]]")
}

/// The y axis units and the console library's number formatter for a Grafana unit.
fn axis(unit: &str) -> (&'static str, &'static str) {
    match unit {
        "s" => (" s", "humanize"),
        "ops" => ("/s", "humanize"),
        "Bps" => (" B/s", "humanize1024"),
        _ => ("", "humanize"),
    }
}

/// The console page: Prometheus renders it as a Go template (`{{ template "head" . }}` from
/// `stack/config/console_libraries/sluice.lib`); each graph is a heading and a place on the
/// page, and the library's `tail` draws them all from the page's list `graphs` of their
/// queries, legends and units.
pub fn render(dashboard: &Value) -> String {
    let title = dashboard["title"].as_str().unwrap_or("sluice");
    let mut page = String::new();
    page.push_str("{{/* Rendered from docker/grafana/dashboards/sluice.json by e2e/src/console_page.rs: edit the\n");
    page.push_str("   dashboard, then SLUICE_BLESS=1 cargo test -p sluice-e2e --test console_dashboard. */}}\n");
    page.push_str("{{ template \"head\" . }}\n");
    page.push_str(&format!(
        "<h1>{}</h1>\n<p class=\"sluice-note\">The last 30 minutes, refreshed every minute. The same queries as the Grafana dashboard.</p>\n",
        html(title)
    ));
    let mut list = Vec::new();
    for (index, graph) in graphs(dashboard).iter().enumerate() {
        let (units, format) = axis(&graph.unit);
        let id = format!("graph-{}", index + 1);
        page.push_str(&format!(
            "<h3>{}</h3><div id=\"{id}\" class=\"sluice-graph\"></div>\n",
            html(&graph.title)
        ));
        list.push(format!(
            "  {{id: {}, expr: {}, name: {}, yUnits: {}, format: {}}},\n",
            js_string(&id),
            js_strings(&graph.exprs),
            js_strings(&graph.names),
            js_string(units),
            js_string(format),
        ));
    }
    page.push_str("<script>\nconst graphs = [\n");
    page.push_str(&list.concat());
    page.push_str("];\n</script>\n{{ template \"tail\" }}\n");
    page
}

/// `text` with the characters HTML gives a meaning escaped.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A JavaScript string literal (JSON's quoting is valid JavaScript); `{{` cannot occur in it,
/// so the Go template leaves it alone.
fn js_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

fn js_strings(texts: &[String]) -> String {
    let quoted: Vec<String> = texts.iter().map(|t| js_string(t)).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panel_becomes_a_graph_with_its_queries_legends_and_unit() {
        let dashboard = serde_json::json!({
            "title": "sluice pipeline",
            "panels": [
                {"title": "Lag <by member>", "fieldConfig": {"defaults": {"unit": "s"}},
                 "targets": [{"expr": "sum by (member) (x{job=~\"a.*\"})", "legendFormat": "{{member}} p{{partition}}"}]},
                {"title": "a row", "type": "row"}
            ]
        });
        let graphs = graphs(&dashboard);
        assert_eq!(graphs.len(), 1);
        assert_eq!(graphs[0].names, ["[[member]] p[[partition]]"]);
        let page = render(&dashboard);
        assert!(page.contains("<h3>Lag &lt;by member&gt;</h3>"), "{page}");
        assert!(
            page.contains(r#"expr: ["sum by (member) (x{job=~\"a.*\"})"]"#),
            "{page}"
        );
        assert!(
            page.contains(r#"yUnits: " s", format: "humanize""#),
            "{page}"
        );
        // Only the template's own actions use double braces.
        let actions = page.matches("{{").count();
        assert_eq!(actions, 3, "{page}");
    }
}
