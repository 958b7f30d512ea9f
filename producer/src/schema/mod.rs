//! The writer schema's life in the registry: registered at start (`registration`), and
//! followed while the producer runs when an `ALTER TABLE` changes the table (`follower`).

pub mod follower;
pub mod registration;
