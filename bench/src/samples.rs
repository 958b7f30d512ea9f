//! Figures gathered over the repeated runs of a phase, one value per run, kept in the order the
//! phase first measured them; recorded together once every run is over, each as its median,
//! extremes and every run (see `Results::set_runs`).

use crate::report::Results;

/// Every figure of a repeated phase, in the order first measured.
#[derive(Debug, Default)]
pub struct Samples {
    figures: Vec<Figure>,
}

#[derive(Debug)]
struct Figure {
    key: String,
    label: String,
    unit: String,
    values: Vec<f64>,
}

impl Samples {
    /// Adds this run's value of the figure `key`.
    pub fn push(&mut self, key: &str, label: &str, unit: &str, value: f64) {
        match self.figures.iter_mut().find(|f| f.key == key) {
            Some(figure) => figure.values.push(value),
            None => self.figures.push(Figure {
                key: key.to_owned(),
                label: label.to_owned(),
                unit: unit.to_owned(),
                values: vec![value],
            }),
        }
    }

    /// Adds this run's `numerator ÷ denominator` as the figure `key`, when the denominator is
    /// not 0: a ratio of two figures of the same run, so a noisy run moves both.
    pub fn push_ratio(&mut self, key: &str, label: &str, numerator: f64, denominator: f64) {
        if denominator != 0.0 {
            self.push(key, label, "×", numerator / denominator);
        }
    }

    /// Records every figure: median, extremes and every run.
    pub fn record(&self, results: &mut Results) {
        for figure in &self.figures {
            results.set_runs(&figure.key, &figure.label, &figure.unit, &figure.values);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_figure_keeps_its_runs_in_order_and_ratios_pair_one_run() {
        let mut samples = Samples::default();
        for (rate, ceiling) in [(100.0, 200.0), (300.0, 400.0), (50.0, 100.0)] {
            samples.push("p.rate", "rate", "rows/s", rate);
            samples.push_ratio("p.ratio", "ratio", rate, ceiling);
            samples.push_ratio("p.never", "never", rate, 0.0);
        }
        let mut results = Results::default();
        samples.record(&mut results);
        let json = results.to_json();
        assert_eq!(json["p"]["rate"], 100.0);
        assert_eq!(
            json["p"]["rate_runs"],
            serde_json::json!([100.0, 300.0, 50.0])
        );
        assert_eq!(json["p"]["ratio"], 0.5);
        assert_eq!(json["p"]["ratio_max"], 0.75);
        assert!(json["p"].get("never").is_none());
    }
}
