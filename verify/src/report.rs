//! The verdict: how many of each violation, a few examples of each, and the totals read.

use std::fmt;

use serde::Serialize;

/// Examples kept per kind.
const EXAMPLES: usize = 5;

/// One instance of a violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Example {
    /// A line of a file.
    Line {
        /// The file.
        file: String,
        /// Its line number, from 1.
        line: u64,
        /// What is wrong with it.
        what: String,
    },
    /// A product.
    Product {
        /// Its key, as a line shows it.
        id: serde_json::Value,
        /// What is wrong with its lines.
        what: String,
    },
}

impl fmt::Display for Example {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Example::Line { file, line, what } => write!(f, "{file}:{line}: {what}"),
            Example::Product { id, what } => write!(f, "product {id}: {what}"),
        }
    }
}

/// How often one kind of violation happened, and its first examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// How many.
    pub count: u64,
    /// The first few.
    pub examples: Vec<Example>,
}

impl Tally {
    /// Counts one more, keeping it as an example while there are few.
    pub fn add(&mut self, example: Example) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example);
        }
    }
}

/// What the journal check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JournalReport {
    /// Updates in the journal.
    pub committed: u64,
    /// Lines carrying a journaled update's number.
    pub seen: u64,
    /// Journaled updates after a product's first one seen that no line carries.
    pub missing: Tally,
    /// Updates carried by more than one line.
    pub twice: Tally,
    /// Products whose lines carry their updates out of commit order.
    pub out_of_order: Tally,
    /// Lines carrying a number the journal lacks: not judged.
    pub unjournaled: u64,
}

impl JournalReport {
    /// Violations of every kind together.
    pub fn violations(&self) -> u64 {
        self.missing.count + self.twice.count + self.out_of_order.count
    }
}

/// Everything `sluice-verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Rows in the table.
    pub rows: u64,
    /// Files read.
    pub files: u64,
    /// Lines read, torn ones included.
    pub lines: u64,
    /// Lines that parsed.
    pub versions: u64,
    /// Dead letters in the dead-letter topic.
    pub dead_letters: u64,
    /// Rows whose latest version has no line.
    pub missing: Tally,
    /// The same line more than once.
    pub duplicate: Tally,
    /// Lines that do not parse, and files ending mid-line.
    pub torn: Tally,
    /// Latest lines that differ from their row transformed, or are newer than it.
    pub wrong: Tally,
    /// Two different lines for one version of a product.
    pub conflicting: Tally,
    /// Within a file, a product's line older than the one before it.
    pub backward: Tally,
    /// Products with lines but no row, whose latest line is not a delete.
    pub not_in_table: Tally,
    /// Products with no row whose latest line is a delete: accounted for, not a violation.
    pub deleted: Tally,
    /// Rows whose latest version has no line, their key in the dead-letter topic: accounted
    /// for, not a violation.
    pub dead_lettered: Tally,
    /// Every version against the load generator's journal, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<JournalReport>,
}

impl Report {
    /// The kinds that are violations, with their names.
    fn violation_kinds(&self) -> [(&'static str, &Tally); 7] {
        [
            ("missing", &self.missing),
            ("duplicate", &self.duplicate),
            ("torn", &self.torn),
            ("wrong", &self.wrong),
            ("conflicting", &self.conflicting),
            ("backward", &self.backward),
            ("not in table", &self.not_in_table),
        ]
    }

    /// Violations of every kind together, the journal's included.
    pub fn violations(&self) -> u64 {
        let journal = self.journal.as_ref().map_or(0, JournalReport::violations);
        self.violation_kinds()
            .iter()
            .map(|(_, t)| t.count)
            .sum::<u64>()
            + journal
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} rows in the table; {} lines in {} files; {} dead letters",
            self.rows, self.lines, self.files, self.dead_letters
        )?;
        let accounted = [
            ("dead-lettered", &self.dead_lettered),
            ("deleted", &self.deleted),
        ];
        for (name, tally) in self.violation_kinds().into_iter().chain(accounted) {
            writeln!(f, "  {name:<14}{:>10}", tally.count)?;
            for example in &tally.examples {
                writeln!(f, "      {example}")?;
            }
        }
        if let Some(journal) = &self.journal {
            writeln!(
                f,
                "journal: {} updates committed, {} in lines ({} lines carry an update it lacks)",
                journal.committed, journal.seen, journal.unjournaled
            )?;
            let kinds = [
                ("missing", &journal.missing),
                ("twice", &journal.twice),
                ("out of order", &journal.out_of_order),
            ];
            for (name, tally) in kinds {
                writeln!(f, "  {name:<14}{:>10}", tally.count)?;
                for example in &tally.examples {
                    writeln!(f, "      {example}")?;
                }
            }
        }
        match self.violations() {
            0 => write!(f, "verdict: clean"),
            n => write!(f, "verdict: {n} violations"),
        }
    }
}
