//! The page reader, at hand or busy reading the next page on its own task, so the database
//! reads a page while the last one is encoded and queued (see `page_reader`).

use tokio::task::JoinHandle;

use super::page_reader::{Page, PageReader, ReadError};
use crate::error::ReadAheadLost;
use crate::source::catalogue::TableWatch;
use crate::source::keyset::KeysetQuery;
use crate::watermark::Watermark;

/// The page reader, at hand or busy reading the next page on its own task, so the database
/// reads a page while the last one is encoded and queued. The reader is boxed so it moves
/// between the two as a pointer.
pub struct ReadAhead {
    state: Option<Reading>,
}

enum Reading {
    /// Not reading.
    Idle(Box<PageReader>),
    /// Reading the page after some position.
    Ahead(JoinHandle<(Box<PageReader>, Result<Page, ReadError>)>),
}

impl ReadAhead {
    /// Reads with `reader`, nothing read ahead yet.
    pub fn new(reader: PageReader) -> Self {
        Self {
            state: Some(Reading::Idle(Box::new(reader))),
        }
    }

    /// Starts reading the page after `cursor` on its own task (a no-op while already reading).
    pub fn start(&mut self, cursor: Watermark) {
        self.state = match self.state.take() {
            Some(Reading::Idle(mut reader)) => Some(Reading::Ahead(tokio::spawn(async move {
                let page = reader.fetch(&cursor).await;
                (reader, page)
            }))),
            other => other,
        };
    }

    /// The page after `cursor`: the one read ahead, if one was being read (it was started from
    /// `cursor`), else one read now. Pages from then on are sized for rows of `row_bytes`, when
    /// given.
    pub async fn next(
        &mut self,
        cursor: &Watermark,
        row_bytes: Option<usize>,
    ) -> Result<Result<Page, ReadError>, ReadAheadLost> {
        let (mut reader, ahead) = self.settle().await?;
        if let Some(bytes) = row_bytes {
            reader.fit_pages_to(bytes);
        }
        let page = match ahead {
            Some(page) => page,
            None => reader.fetch(cursor).await,
        };
        self.state = Some(Reading::Idle(reader));
        Ok(page)
    }

    /// Waits for a page being read ahead and drops it: the pages after a failure are read
    /// again from the watermark, and a stopping producer reads no further.
    pub async fn discard(&mut self) -> Result<(), ReadAheadLost> {
        let (reader, _) = self.settle().await?;
        self.state = Some(Reading::Idle(reader));
        Ok(())
    }

    /// Reads with `query` for `watch`'s columns from now on; what was read ahead is dropped.
    pub async fn replan(
        &mut self,
        query: KeysetQuery,
        watch: TableWatch,
        timestamp_digits: i64,
    ) -> Result<(), ReadAheadLost> {
        let (mut reader, _) = self.settle().await?;
        reader.replan(query, watch, timestamp_digits);
        self.state = Some(Reading::Idle(reader));
        Ok(())
    }

    async fn settle(
        &mut self,
    ) -> Result<(Box<PageReader>, Option<Result<Page, ReadError>>), ReadAheadLost> {
        match self.state.take() {
            Some(Reading::Idle(reader)) => Ok((reader, None)),
            Some(Reading::Ahead(task)) => match task.await {
                Ok((reader, page)) => Ok((reader, Some(page))),
                Err(error) => Err(ReadAheadLost(Some(error))),
            },
            None => Err(ReadAheadLost(None)),
        }
    }
}
