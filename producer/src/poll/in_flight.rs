//! The pages queued and not yet answered by Kafka, oldest first, each with the position the
//! watermark moves to once it is acknowledged.

use std::collections::VecDeque;

use crate::publish::PendingPage;
use crate::watermark::Watermark;

/// A queued page waiting for its acknowledgements, and where the watermark goes after it.
pub(crate) struct InFlight<E = Watermark> {
    pub(crate) pending: PendingPage,
    pub(crate) end: E,
    /// Rows of the table read for it; 0 for the deletes of a sweep.
    pub(crate) rows: usize,
}

/// The pages in flight, in the order they were queued (and are acknowledged).
pub(crate) struct InFlightPages<E = Watermark> {
    pages: VecDeque<InFlight<E>>,
}

impl<E> Default for InFlightPages<E> {
    fn default() -> Self {
        Self {
            pages: VecDeque::new(),
        }
    }
}

impl<E> InFlightPages<E> {
    /// Adds a page just queued, after which the watermark (or the source's position) is `end`.
    pub(crate) fn push(&mut self, pending: PendingPage, end: E, rows: usize) {
        self.pages.push_back(InFlight { pending, end, rows });
    }

    /// The oldest page, when more than `keep` are in flight.
    pub(crate) fn oldest_beyond(&mut self, keep: usize) -> Option<InFlight<E>> {
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
