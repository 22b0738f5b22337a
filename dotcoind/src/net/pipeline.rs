//! One peer's block pipeline: the blocks it was asked for go to the chain writer in arrival
//! order, while the peer's next blocks are read and their signatures are checked on every
//! core (Bitcoin Core checks scripts in parallel inside `ConnectBlock`; here that work also
//! overlaps the writer's storing of the block before).
//!
//! A block submitted here takes two steps:
//! 1. pre-verification, at once, on rayon ([`ChainService::preverify_block`]): fills the
//!    signature cache, with the coins it spends looked up in the blocks submitted before it
//!    (which may not be connected yet) and in the UTXO set;
//! 2. the writer ([`ChainService::process_block_from_peer`]), on the blocking pool, one
//!    block at a time in submission order, each after its own pre-verification, so no
//!    signature is checked twice. Its result comes back through [`BlockPipeline::next_done`]
//!    in the same order.
//!
//! Bounded: at most [`PIPELINE_DEPTH`] blocks wait per peer; the handler awaits the oldest
//! result before it reads a block more. Only requested blocks enter: the handler processes
//! an unsolicited block on its own after draining the pipeline, as before.

use std::collections::VecDeque;
use std::sync::Arc;

use dotcoin_common::{Block, BlockHash};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use crate::chain::{ChainError, ProcessOutcome};
use crate::state::{created_outputs, ChainService, CreatedOutputs};

/// Blocks of one peer waiting for the writer or for their result to be handled.
pub const PIPELINE_DEPTH: usize = 8;

/// One block's turn through the writer.
#[derive(Debug)]
pub struct BlockDone {
    /// The block.
    pub hash: BlockHash,
    /// The writer's verdict; `None` if the writer panicked on it (logged by the runtime).
    pub processed: Option<Processed>,
}

/// The writer's verdict on one block, with what the handler reports from it.
#[derive(Debug)]
pub struct Processed {
    /// What processing it gave.
    pub result: Result<ProcessOutcome, ChainError>,
    /// Its height, if its header is in the index.
    pub height: Option<u32>,
    /// The active height and the best header's height afterwards.
    pub progress: (u32, u32),
}

#[derive(Debug)]
struct Job {
    block: Arc<Block>,
    hash: BlockHash,
    preverified: oneshot::Receiver<()>,
}

/// See the module docs. Owned by the peer's handler.
#[derive(Debug)]
pub struct BlockPipeline {
    chain: Arc<ChainService>,
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<BlockDone>,
    outstanding: usize,
    /// Outputs of the last blocks submitted, oldest first.
    recent: VecDeque<Arc<CreatedOutputs>>,
}

impl BlockPipeline {
    /// A pipeline feeding `chain`, with its writer task started.
    pub fn new(chain: Arc<ChainService>) -> BlockPipeline {
        let (jobs, job_rx) = mpsc::channel(PIPELINE_DEPTH);
        let (done_tx, done) = mpsc::channel(PIPELINE_DEPTH);
        tokio::spawn(feed(Arc::clone(&chain), job_rx, done_tx));
        BlockPipeline {
            chain,
            jobs,
            done,
            outstanding: 0,
            recent: VecDeque::with_capacity(PIPELINE_DEPTH + 1),
        }
    }

    /// Blocks submitted whose result has not been taken yet.
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// Whether a block more must wait for [`BlockPipeline::next_done`] first.
    pub fn is_full(&self) -> bool {
        self.outstanding >= PIPELINE_DEPTH
    }

    /// Starts checking `block` (whose hash is `hash`) and queues it for the writer. The
    /// caller takes a result first when [`BlockPipeline::is_full`].
    pub fn submit(&mut self, block: Block, hash: BlockHash) {
        debug_assert!(!self.is_full(), "the handler drains a full pipeline first");
        let block = Arc::new(block);
        let own = Arc::new(created_outputs(&block));
        let earlier: Vec<Arc<CreatedOutputs>> = self.recent.iter().cloned().collect();
        let (preverified_tx, preverified) = oneshot::channel();
        {
            let chain = Arc::clone(&self.chain);
            let block = Arc::clone(&block);
            let own = Arc::clone(&own);
            rayon::spawn(move || {
                chain.preverify_block(&block, &own, &earlier);
                let _ = preverified_tx.send(());
            });
        }
        self.recent.push_back(own);
        if self.recent.len() > PIPELINE_DEPTH {
            self.recent.pop_front();
        }
        let job = Job {
            block,
            hash,
            preverified,
        };
        // At most PIPELINE_DEPTH jobs are outstanding, the channel's capacity: never full.
        match self.jobs.try_send(job) {
            Ok(()) => self.outstanding += 1,
            Err(e) => warn!(target: "net", %hash, error = %e, "block pipeline refused a block"),
        }
    }

    /// The next result, in submission order; pending forever when nothing is outstanding
    /// (so it can sit in a `select!` guarded by [`BlockPipeline::outstanding`]).
    /// Cancel-safe.
    pub async fn next_done(&mut self) -> Option<BlockDone> {
        if self.outstanding == 0 {
            return std::future::pending().await;
        }
        let done = self.done.recv().await;
        self.outstanding = match done {
            Some(_) => self.outstanding - 1,
            // The writer task is gone (the runtime is shutting down): nothing more comes.
            None => 0,
        };
        done
    }
}

/// Hands `block` (whose hash is `hash`) from a peer to the chain writer, on the calling
/// thread (a blocking one), and notes where the chain stands afterwards.
pub fn process(
    chain: &ChainService,
    block: Arc<Block>,
    hash: &BlockHash,
    requested: bool,
) -> Processed {
    let result = chain.process_block_from_peer(block, requested);
    let snap = chain.snapshot();
    Processed {
        result,
        height: snap.index().get(hash).map(|e| e.height),
        progress: (snap.height(), snap.best_header().height),
    }
}

/// The writer side: one job at a time, after its pre-verification, in order.
async fn feed(
    chain: Arc<ChainService>,
    mut jobs: mpsc::Receiver<Job>,
    done: mpsc::Sender<BlockDone>,
) {
    while let Some(job) = jobs.recv().await {
        // An error only means the pre-verifier panicked; the writer checks everything
        // itself then.
        let _ = job.preverified.await;
        let chain = Arc::clone(&chain);
        let hash = job.hash;
        let processed =
            tokio::task::spawn_blocking(move || process(&chain, job.block, &hash, true))
                .await
                .ok();
        let report = BlockDone { hash, processed };
        if done.send(report).await.is_err() {
            break;
        }
    }
}
