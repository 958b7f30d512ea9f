//! Where the producer stands in the table, and where that is kept: the [`Watermark`] itself
//! (`position`), its file under at-least-once (`file`, saved beside the loop by `saver`), and
//! its topic under exactly-once (`topic`, written inside each transaction).

pub mod file;
pub mod position;
pub mod saver;
pub mod topic;

pub use file::{WatermarkError, WatermarkStore};
pub use position::{KeyBound, ReadOrder, Watermark};
