//! The dashboard that renders here: the stack's Prometheus serves the sluice console page
//! (`/consoles/sluice.html`), rendered from the Grafana dashboard so the two hold the same
//! queries. With a pipeline running, every query of the page, as Prometheus serves it, answers
//! with series, and headless Chromium draws the page with its graphs (a screenshot with plot
//! lines in it, kept beside the scenario's logs).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sluice_e2e::console_page::{self, DASHBOARD, PAGE};
use sluice_e2e::prometheus::{series, URL};
use sluice_e2e::repo_root;
use sluice_e2e::scenario::Scenario;

fn dashboard() -> Value {
    let text = std::fs::read_to_string(repo_root().join(DASHBOARD)).expect("dashboard");
    serde_json::from_str(&text).expect("dashboard is JSON")
}

#[test]
fn the_console_page_is_the_grafana_dashboard_rendered() {
    let rendered = console_page::render(&dashboard());
    let path = repo_root().join(PAGE);
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, &rendered).expect("write the console page");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "{PAGE} is not the rendering of {DASHBOARD}: run SLUICE_BLESS=1 cargo test -p sluice-e2e --test console_dashboard"
    );
    assert!(console_page::graphs(&dashboard()).len() >= 10);
}

/// Imported into any Grafana, every panel and query asks the dashboard's `datasource` variable
/// (of type `datasource`, Prometheus) for its data source: none is fixed to a uid that exists
/// only in the stack's Grafana.
#[test]
fn the_dashboard_names_no_fixed_data_source() {
    let dashboard = dashboard();
    let variables = dashboard["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        variables.iter().any(|v| v["name"] == "datasource"
            && v["type"] == "datasource"
            && v["query"] == "prometheus"),
        "a `datasource` variable of Prometheus data sources: {variables:?}"
    );
    let mut uses = 0;
    let mut fixed = Vec::new();
    let mut pending = vec![dashboard.clone()];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(source) = map.get("datasource") {
                    uses += 1;
                    if source["uid"] != "${datasource}" {
                        fixed.push(source.clone());
                    }
                }
                pending.extend(map.into_iter().map(|(_, v)| v));
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    assert!(
        uses >= 2 * console_page::graphs(&dashboard).len(),
        "{uses} data source uses"
    );
    assert!(fixed.is_empty(), "data sources fixed to a uid: {fixed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_page_shows_every_graph_with_data() {
    let mut scenario = Scenario::new("console", 6).await;
    scenario.on_scraped_ports();
    scenario.insert_products(1..3001, None).await;
    scenario.start_consumers(5);
    scenario.start_producer();
    scenario.wait_caught_up(Duration::from_secs(120)).await;

    let page = get_text(&format!("{URL}/consoles/sluice.html")).await;
    let graphs = console_page::graphs(&dashboard());
    for graph in &graphs {
        assert!(
            page.contains(&format!("<h3>{}</h3>", graph.title.replace('&', "&amp;"))),
            "the served page has the graph {:?}",
            graph.title
        );
        for expr in &graph.exprs {
            // As the page's script holds it, and answered with series.
            let quoted = Value::String(expr.clone()).to_string();
            assert!(page.contains(&quoted), "the served page queries {expr}");
            series(expr).await;
        }
    }

    let shot = scenario.dir.path().join("console.png");
    screenshot(&format!("{URL}/consoles/sluice.html"), &shot);
    let (plotted, size) = plotted_pixels(&shot);
    eprintln!(
        "{} graphs; screenshot {} ({}x{}), {plotted} pixels of plot lines",
        graphs.len(),
        shot.display(),
        size.0,
        size.1
    );
    // A page whose graphs drew nothing has only black, grey and white: text, axes, grid.
    assert!(
        plotted >= 200 * graphs.len(),
        "the screenshot has {plotted} pixels of plot lines for {} graphs: {}",
        graphs.len(),
        shot.display()
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

async fn get_text(url: &str) -> String {
    let response = sluice_registry::http::get(url.to_owned())
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{url}: {status}\n{text}");
    text
}

/// Headless Chromium's screenshot of `url`, after the page's scripts and queries ran.
fn screenshot(url: &str, path: &Path) {
    let profile = tempfile::tempdir().expect("browser profile");
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,5200",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", path.display()))
        .arg(url)
        .output()
        .expect("chromium must be installed (`make test` installs it)");
    assert!(
        output.status.success() && path.exists(),
        "chromium failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Pixels of a saturated colour (Rickshaw's plot lines; text, axes and grid are grey) and the
/// image's size.
fn plotted_pixels(path: &Path) -> (usize, (u32, u32)) {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("screenshot"));
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut pixels).expect("PNG frame");
    let channels = frame.color_type.samples();
    let plotted = pixels[..frame.buffer_size()]
        .chunks(channels)
        .filter(|px| px.len() >= 3)
        .filter(|px| {
            let (max, min) = (px[..3].iter().max(), px[..3].iter().min());
            matches!((max, min), (Some(max), Some(min)) if max - min > 80)
        })
        .count();
    (plotted, (frame.width, frame.height))
}
