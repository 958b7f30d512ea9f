//! Saving the watermark beside the producer loop rather than in it.
//!
//! A save is durable (two fsyncs), which takes milliseconds; done after each page in the loop,
//! it held up a snapshot of a million rows by a fifth of its time. The loop now hands each
//! acknowledged watermark over and goes on; the saver writes the newest one whenever the last
//! write is done, so saves never queue up behind each other. The invariant is unchanged: only
//! acknowledged watermarks are handed over, so the saved one never passes an unacknowledged
//! row. A crash re-sends at most the pages acknowledged while the last save was being written,
//! besides the pages in flight.

use std::sync::Arc;

use serde::Serialize;

use crate::watermark::{Watermark, WatermarkError, WatermarkStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the saver can keep no more watermarks.
#[derive(Debug, thiserror::Error)]
pub enum SaverError {
    /// A save failed.
    #[error(transparent)]
    Save(#[from] WatermarkError),
    /// The saver ended without a failure of its own (it was stopped).
    #[error("the watermark saver stopped")]
    Stopped,
    /// The saving task panicked or was cancelled: a defect.
    #[error("the task saving the watermark ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

/// Saves the newest watermark handed to it (or the newest position of a source with its own
/// kind of position), on a task of its own.
pub struct WatermarkSaver<T = Watermark> {
    newest: watch::Sender<Option<T>>,
    saving: JoinHandle<Result<(), WatermarkError>>,
}

impl<T> WatermarkSaver<T>
where
    T: Serialize + Clone + PartialEq + Send + Sync + 'static,
{
    /// Starts saving into `store`.
    pub fn start(store: WatermarkStore) -> Self {
        let (newest, handed_over) = watch::channel(None);
        let saving = tokio::spawn(save_newest(Arc::new(store), handed_over));
        Self { newest, saving }
    }

    /// Hands over a watermark up to which Kafka has acknowledged every record. Fails only once
    /// a save has failed, with that failure: the producer then stops rather than run on with a
    /// watermark it cannot keep.
    pub async fn advance(&mut self, watermark: T) -> Result<(), SaverError> {
        if self.newest.send(Some(watermark)).is_ok() {
            return Ok(());
        }
        // The receiver is gone: the saving task has ended, which it does only on a failure.
        Err(match (&mut self.saving).await {
            Ok(Err(failed)) => failed.into(),
            Ok(Ok(())) => SaverError::Stopped,
            Err(panicked) => panicked.into(),
        })
    }

    /// Saves the newest watermark handed over, if it is not saved yet, and stops.
    pub async fn finish(self) -> Result<(), SaverError> {
        drop(self.newest);
        Ok(self.saving.await??)
    }
}

/// Saves each newest watermark until the sender is dropped, then the last one.
async fn save_newest<T>(
    store: Arc<WatermarkStore>,
    mut handed_over: watch::Receiver<Option<T>>,
) -> Result<(), WatermarkError>
where
    T: Serialize + Clone + PartialEq + Send + Sync + 'static,
{
    let mut saved = None;
    loop {
        let closed = handed_over.changed().await.is_err();
        let newest = handed_over.borrow_and_update().clone();
        if let Some(watermark) = newest.filter(|w| saved.as_ref() != Some(w)) {
            let saving = Arc::clone(&store);
            let kept = watermark.clone();
            match tokio::task::spawn_blocking(move || saving.save(&kept)).await {
                Ok(outcome) => outcome?,
                Err(crashed) => {
                    return Err(WatermarkError::Io {
                        path: store.path().to_path_buf(),
                        source: std::io::Error::other(crashed.to_string()),
                    })
                }
            }
            saved = Some(watermark);
        }
        if closed {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(second: i64) -> Watermark {
        Watermark::at_row(
            Utc.timestamp_opt(second, 0).single().expect("valid"),
            crate::source::key::Key::Signed(second),
        )
    }

    #[tokio::test]
    async fn the_newest_watermark_handed_over_is_saved_by_finish() {
        let dir = tempfile::tempdir().expect("dir");
        let store = WatermarkStore::new(dir.path().join("w.json"));
        let mut saver = WatermarkSaver::start(store.clone());
        for second in 1..=50 {
            saver.advance(at(second)).await.expect("advance");
        }
        saver.finish().await.expect("finish");
        assert_eq!(store.load().expect("load"), Some(at(50)));
    }

    #[tokio::test]
    async fn nothing_handed_over_saves_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let store = WatermarkStore::new(dir.path().join("w.json"));
        WatermarkSaver::<Watermark>::start(store.clone())
            .finish()
            .await
            .expect("finish");
        assert_eq!(store.load().expect("load"), None);
    }

    #[tokio::test]
    async fn a_failed_save_stops_the_producer_with_its_reason() {
        let dir = tempfile::tempdir().expect("dir");
        // A file where the watermark's folder should be: every save fails.
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, "").expect("blocker");
        let mut saver = WatermarkSaver::start(WatermarkStore::new(blocker.join("w.json")));
        let mut failure = None;
        for second in 1..=100 {
            if let Err(error) = saver.advance(at(second)).await {
                failure = Some(error);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let failure = failure.expect("a failed save surfaces at a later advance");
        assert!(
            failure.to_string().contains("not-a-folder"),
            "names the file: {failure}"
        );
    }
}
