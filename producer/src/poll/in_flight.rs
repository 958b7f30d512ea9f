//! The pages queued and not yet answered by Kafka, oldest first, each with the position the
//! watermark moves to once it is acknowledged.

use std::collections::VecDeque;

use crate::publish::PendingPage;
use crate::watermark::Watermark;

/// A queued page waiting for its acknowledgements, and where the watermark goes after it.
pub(crate) struct InFlight {
    pub(crate) pending: PendingPage,
    pub(crate) end: Watermark,
    /// Rows of the table read for it; 0 for the deletes of a sweep.
    pub(crate) rows: usize,
}

/// The pages in flight, in the order they were queued (and are acknowledged).
#[derive(Default)]
pub(crate) struct InFlightPages {
    pages: VecDeque<InFlight>,
}

impl InFlightPages {
    /// Adds a page just queued, after which the watermark is `end`.
    pub(crate) fn push(&mut self, pending: PendingPage, end: Watermark, rows: usize) {
        self.pages.push_back(InFlight { pending, end, rows });
    }

    /// The oldest page, when more than `keep` are in flight.
    pub(crate) fn oldest_beyond(&mut self, keep: usize) -> Option<InFlight> {
        if self.pages.len() > keep {
            self.pages.pop_front()
        } else {
            None
        }
    }

    /// How many pages are in flight.
    pub(crate) fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether none is.
    pub(crate) fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Waits for every page in flight to be answered, whatever the answer, and forgets them:
    /// their rows are read and sent again from the watermark.
    pub(crate) async fn abandon(&mut self) {
        for page in self.pages.drain(..) {
            let _ = page.pending.acknowledged().await;
        }
    }
}
