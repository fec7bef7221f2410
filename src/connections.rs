//! Accepting connections and serving HTTP on them, as `axum::serve` does,
//! plus what it cannot be told: how long a connection may hold a socket
//! without a request, and how many it may hold at once.
//!
//! - **No request in time.** A connection that has not completed a request's
//!   headers within the header limit of its opening (or of its previous
//!   answer, when kept alive) is closed, whatever it sent: nothing, one byte,
//!   or HTTP/2's preface. hyper's own header timeout starts only at a head's
//!   first byte and never while it waits to tell HTTP/1 from HTTP/2, so the
//!   clock here counts from the moment the connection holds no request; it
//!   is paused while a request (an event stream too) is being answered.
//! - **A cap.** Sockets are file descriptors, and a process out of them can
//!   accept nothing, `/health` included. The cap leaves room under the
//!   process's open-file limit for the database and everything else. At the
//!   cap, the connection idle the longest is closed to make room (a client
//!   with a kept-alive socket opens another); when every connection is busy
//!   with a request, a new one is answered 503 and closed.
//!
//! Each is counted in `/metrics` by reason ([`ConnectionStats`]). Nagle's
//! algorithm is off on every socket: a session-mode answer is an event
//! stream written in several small pieces, and with Nagle on the last piece
//! waited for the client's delayed ACK, ~40 ms a call.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, HttpBody};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::Service;

/// After an accept error that is not one connection's (e.g. out of file
/// descriptors), wait before the next accept instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Descriptors kept free beyond those open when serving starts: the
/// database's pool growing (PostgreSQL: up to 16 connections, and the
/// listener's reconnects), git's pipes when a worktree is looked up, refusals
/// being written, log files.
const RESERVED_DESCRIPTORS: u64 = 32;

/// However low the file limit, a few connections are served.
const MIN_CONNECTIONS: usize = 4;

/// Without a file limit, still a bound on what idle clients can hold.
const MAX_CONNECTIONS: usize = 16_384;

/// Refusals being written at once; past this a socket over the cap is
/// closed without an answer, so that refusing cannot itself use up the
/// descriptors.
const MAX_REFUSING: usize = 8;

/// How long the accept loop waits for a connection it evicted to close.
const EVICTION_GRACE: Duration = Duration::from_secs(1);

/// How long a refusal may take to write, and to let the client's request
/// drain so that closing does not reset the connection before the answer
/// is read.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);

/// What the accept loop enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A connection without a request is closed after this long.
    pub header_read_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// The cap from this process's open-file limit (`ulimit -n`), less the
    /// descriptors already open and [`RESERVED_DESCRIPTORS`].
    pub fn for_this_process(header_read_timeout: Duration) -> Self {
        Self {
            header_read_timeout,
            max_connections: cap_from_file_limit(file_limit(), open_descriptors()),
        }
    }
}

/// The soft open-file limit, if there is one.
fn file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Descriptors open now; a guess where they cannot be listed.
fn open_descriptors() -> u64 {
    std::fs::read_dir("/dev/fd").map_or(64, |entries| entries.count() as u64)
}

fn cap_from_file_limit(limit: Option<u64>, open: u64) -> usize {
    let Some(limit) = limit else {
        return MAX_CONNECTIONS;
    };
    let free = limit.saturating_sub(open + RESERVED_DESCRIPTORS);
    usize::try_from(free)
        .unwrap_or(MAX_CONNECTIONS)
        .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS)
}

/// Why the server closed a connection (or refused one), for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closed {
    /// It sent no complete request head within the limit of its opening.
    NoRequest,
    /// Kept alive, it sent no next request within the limit of its last answer.
    Idle,
    /// Idle the longest when a new connection came at the cap.
    Evicted,
    /// Over the cap with every connection busy: answered 503.
    Refused,
}

impl Closed {
    const ALL: [Self; 4] = [Self::NoRequest, Self::Idle, Self::Evicted, Self::Refused];

    fn label(self) -> &'static str {
        match self {
            Self::NoRequest => "no_request_in_time",
            Self::Idle => "idle",
            Self::Evicted => "evicted_at_cap",
            Self::Refused => "refused_at_cap",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClosedLabels {
    reason: &'static str,
}

/// The connections' counters, registered into `/metrics`. Cloning shares
/// them: the accept loop counts into the same metrics the registry renders.
#[derive(Debug, Clone)]
pub struct ConnectionStats {
    accepted: Counter,
    open: Gauge,
    max: Gauge,
    closed: Family<ClosedLabels, Counter>,
}

impl Default for ConnectionStats {
    fn default() -> Self {
        let stats = Self {
            accepted: Counter::default(),
            open: Gauge::default(),
            max: Gauge::default(),
            closed: Family::default(),
        };
        // Every reason shows, at 0 until a connection is closed for it.
        for why in Closed::ALL {
            let _ = stats.closed.get_or_create(&ClosedLabels {
                reason: why.label(),
            });
        }
        stats
    }
}

impl ConnectionStats {
    fn count(&self, why: Closed) {
        self.closed
            .get_or_create(&ClosedLabels {
                reason: why.label(),
            })
            .inc();
    }

    /// Adds the connections' metrics to `/metrics`' registry.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "ccmulti_connections_open",
            "HTTP connections open now",
            self.open.clone(),
        );
        registry.register(
            "ccmulti_connections_max",
            "Connections held at most (from the open-file limit)",
            self.max.clone(),
        );
        registry.register(
            "ccmulti_connections_accepted",
            "HTTP connections accepted",
            self.accepted.clone(),
        );
        registry.register(
            "ccmulti_connections_closed",
            "Connections the server closed or refused, by reason",
            self.closed.clone(),
        );
    }
}

/// Serves `app` on every connection until `shutdown` resolves, then stops
/// accepting and waits for open connections to finish.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stats: ConnectionStats,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    // hyper's own header timeout would race the watchdog, which covers
    // every case it does (a head is read only while no request is in flight).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    stats
        .max
        .set(i64::try_from(limits.max_connections).unwrap_or(i64::MAX));
    let open = Arc::new(Open::new(limits.max_connections));
    let refusing = Arc::new(AtomicUsize::new(0));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of descriptors despite the cap: make room if an idle
                    // connection can give some, else wait.
                    match open.evict_one(&stats) {
                        Some(()) => tokio::time::sleep(EVICTION_GRACE / 100).await,
                        None => {
                            tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                        }
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some((tracker, place)) = open.admit(&stats).await else {
            stats.count(Closed::Refused);
            refuse(socket, limits.max_connections, refusing.clone());
            continue;
        };
        if let Err(e) = socket.set_nodelay(true) {
            tracing::warn!(error = %e, "could not turn off Nagle's algorithm on a connection");
        }
        stats.accepted.inc();
        stats.open.inc();
        let service = Tracked {
            router: app.clone(),
            tracker: tracker.clone(),
        };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(socket), service)
            .into_owned();
        let connection = graceful.watch(connection);
        let (open, stats) = (open.clone(), stats.clone());
        let limit = limits.header_read_timeout;
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => if let Err(e) = ended {
                    // A slow or vanished client: the client's doing, not the coordinator's.
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                // Counted before the select drops the connection (and
                // closes its socket), so a client that saw the close finds
                // it in /metrics; an eviction was counted when decided.
                why = async {
                    let why = watchdog(&tracker, limit).await;
                    if why != Closed::Evicted {
                        stats.count(why);
                    }
                    why
                } => tracing::debug!(%peer, reason = why.label(), "connection closed"),
            }
            open.forget(tracker.id);
            stats.open.dec();
            // Last, once the socket is closed: the place is free.
            drop(place);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one connection (it went away before it was accepted), not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Answers a connection over the cap with 503 and closes it; drops it
/// unanswered when many refusals are already being written.
fn refuse(mut socket: TcpStream, max: usize, refusing: Arc<AtomicUsize>) {
    if refusing.fetch_add(1, Ordering::SeqCst) >= MAX_REFUSING {
        refusing.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    tracing::warn!(
        max,
        "a connection was refused: every open connection is busy with a request"
    );
    tokio::spawn(async move {
        let body = format!(
            "{{\"error\":\"too_many_connections\",\"message\":\"this coordinator holds at most {max} open connections (set by its open-file limit, ulimit -n) and every one is busy with a request; nothing was done. Retry in a moment, or start the coordinator with a higher ulimit -n\"}}"
        );
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(REFUSAL_GRACE, async {
            socket.write_all(answer.as_bytes()).await?;
            socket.shutdown().await?;
            let mut sink = [0u8; 4096];
            while socket.read(&mut sink).await? > 0 {}
            Ok::<(), std::io::Error>(())
        })
        .await;
        refusing.fetch_sub(1, Ordering::SeqCst);
    });
}

/// One connection's state, shared by its requests and its watchdog.
#[derive(Debug)]
struct Tracker {
    id: u64,
    opened: Instant,
    /// Requests being answered, their bodies included.
    in_flight: AtomicU32,
    /// At least one request arrived.
    served: AtomicBool,
    /// When it last held no request, in ms from `opened`.
    idle_since_ms: AtomicU64,
    /// Told to close to make room; it keeps its place until it has.
    evicted: AtomicBool,
    evict: tokio::sync::Notify,
}

impl Tracker {
    fn new(id: u64) -> Self {
        Self {
            id,
            opened: Instant::now(),
            in_flight: AtomicU32::new(0),
            served: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            evict: tokio::sync::Notify::new(),
        }
    }

    fn idle_since(&self) -> Option<Instant> {
        (self.in_flight.load(Ordering::SeqCst) == 0)
            .then(|| self.opened + Duration::from_millis(self.idle_since_ms.load(Ordering::SeqCst)))
    }
}

/// Resolves when the connection must close: it held no request for `limit`,
/// or it was evicted to make room.
async fn watchdog(tracker: &Tracker, limit: Duration) -> Closed {
    loop {
        let now = Instant::now();
        let due = tracker
            .idle_since()
            .map_or(now + limit, |idle| idle + limit);
        if due <= now {
            return if tracker.served.load(Ordering::Relaxed) {
                Closed::Idle
            } else {
                Closed::NoRequest
            };
        }
        tokio::select! {
            () = tracker.evict.notified() => return Closed::Evicted,
            () = tokio::time::sleep_until(due.into()) => {}
        }
    }
}

/// The open connections, for the cap: each holds a place (a permit) until
/// its socket is closed.
#[derive(Debug)]
struct Open {
    places: Arc<tokio::sync::Semaphore>,
    next_id: AtomicU64,
    trackers: Mutex<HashMap<u64, Arc<Tracker>>>,
}

impl Open {
    fn new(max: usize) -> Self {
        Self {
            places: Arc::new(tokio::sync::Semaphore::new(max)),
            next_id: AtomicU64::new(0),
            trackers: Mutex::default(),
        }
    }

    /// A place for one more connection. At the cap, the connection idle the
    /// longest is evicted and its place taken once it has closed; `None`
    /// when every connection is busy with a request.
    async fn admit(
        &self,
        stats: &ConnectionStats,
    ) -> Option<(Arc<Tracker>, tokio::sync::OwnedSemaphorePermit)> {
        let place = match self.places.clone().try_acquire_owned() {
            Ok(place) => place,
            Err(_) => {
                self.evict_one(stats)?;
                let freed = self.places.clone().acquire_owned();
                tokio::time::timeout(EVICTION_GRACE, freed)
                    .await
                    .ok()?
                    .ok()?
            }
        };
        let tracker = Arc::new(Tracker::new(self.next_id.fetch_add(1, Ordering::Relaxed)));
        self.trackers
            .lock()
            .ok()?
            .insert(tracker.id, tracker.clone());
        Some((tracker, place))
    }

    /// Tells the connection idle the longest to close, if one is idle.
    fn evict_one(&self, stats: &ConnectionStats) -> Option<()> {
        let trackers = self.trackers.lock().ok()?;
        let evicted = trackers
            .values()
            .filter(|t| !t.evicted.load(Ordering::SeqCst))
            .filter_map(|t| t.idle_since().map(|idle| (t, idle)))
            .min_by_key(|(_, idle)| *idle)
            .map(|(t, _)| t)?;
        evicted.evicted.store(true, Ordering::SeqCst);
        stats.count(Closed::Evicted);
        // A permit: the watchdog sees it even if it is not waiting yet.
        evicted.evict.notify_one();
        Some(())
    }

    fn forget(&self, id: u64) {
        if let Ok(mut trackers) = self.trackers.lock() {
            trackers.remove(&id);
        }
    }
}

/// The router as hyper's service, keeping count of the requests in flight
/// on its connection (until their answer's body is done).
#[derive(Clone)]
struct Tracked {
    router: Router,
    tracker: Arc<Tracker>,
}

/// One request in flight; dropped with its answer's body.
struct InFlight(Arc<Tracker>);

impl InFlight {
    fn start(tracker: &Arc<Tracker>) -> Self {
        tracker.in_flight.fetch_add(1, Ordering::SeqCst);
        tracker.served.store(true, Ordering::Relaxed);
        Self(tracker.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let tracker = &self.0;
        let ms = u64::try_from(tracker.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracker.idle_since_ms.store(ms, Ordering::SeqCst);
        tracker.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl hyper::service::Service<http::Request<Incoming>> for Tracked {
    type Response = http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = TrackedFuture;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(&self.tracker);
        let mut router = self.router.clone();
        TrackedFuture {
            inner: router.call(request),
            in_flight: Some(in_flight),
        }
    }
}

struct TrackedFuture {
    inner: <Router as Service<http::Request<Incoming>>>::Future,
    in_flight: Option<InFlight>,
}

impl Future for TrackedFuture {
    type Output = Result<http::Response<TrackedBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let response = ready!(Pin::new(&mut this.inner).poll(cx))?;
        let in_flight = this.in_flight.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            inner: body,
            _in_flight: in_flight,
        })))
    }
}

/// An answer's body, holding its request in flight until it is dropped.
struct TrackedBody {
    inner: Body,
    _in_flight: Option<InFlight>,
}

impl HttpBody for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_under_the_file_limit() {
        assert_eq!(cap_from_file_limit(Some(1024), 24), 1024 - 24 - 32);
        assert_eq!(cap_from_file_limit(Some(64), 20), 12);
        assert_eq!(cap_from_file_limit(Some(32), 20), MIN_CONNECTIONS);
        assert_eq!(cap_from_file_limit(None, 20), MAX_CONNECTIONS);
        assert_eq!(cap_from_file_limit(Some(u64::MAX), 20), MAX_CONNECTIONS);
    }

    #[tokio::test]
    async fn at_the_cap_the_connection_idle_the_longest_makes_room() {
        let stats = ConnectionStats::default();
        let open = Arc::new(Open::new(2));
        let (first, first_place) = open.admit(&stats).await.expect("room");
        let (second, second_place) = open.admit(&stats).await.expect("room");
        // The first is busy; the second idle since its opening, so it goes:
        // its place is taken once it has closed.
        let busy = InFlight::start(&first);
        let closing = {
            let (open, second) = (open.clone(), second.clone());
            tokio::spawn(async move {
                second.evict.notified().await;
                open.forget(second.id);
                drop(second_place);
            })
        };
        let (third, _third_place) = open.admit(&stats).await.expect("the idle one made room");
        closing.await.expect("the evicted connection closed");
        assert!(second.evicted.load(Ordering::SeqCst));
        // Both left are busy now: the next is refused.
        let _also_busy = InFlight::start(&third);
        assert!(open.admit(&stats).await.is_none());
        drop(busy);
        open.evict_one(&stats).expect("the first is idle again");
        assert!(first.evicted.load(Ordering::SeqCst));
        drop(first_place);
        let evicted = ClosedLabels {
            reason: Closed::Evicted.label(),
        };
        assert_eq!(stats.closed.get_or_create(&evicted).get(), 2);
    }

    #[tokio::test]
    async fn a_connection_without_a_request_is_closed_from_its_opening() {
        let limit = Duration::from_millis(200);
        let tracker = Tracker::new(1);
        let started = Instant::now();
        assert_eq!(watchdog(&tracker, limit).await, Closed::NoRequest);
        assert!(started.elapsed() >= Duration::from_millis(190));
        // A request pauses the clock; its end restarts it.
        let tracker = Arc::new(Tracker::new(2));
        let request = InFlight::start(&tracker);
        let watch = watchdog(&tracker, limit);
        tokio::pin!(watch);
        let paused = tokio::time::timeout(Duration::from_millis(500), &mut watch).await;
        assert!(paused.is_err(), "closed while a request was in flight");
        drop(request);
        let ended = Instant::now();
        assert_eq!(watch.await, Closed::Idle);
        assert!(ended.elapsed() >= Duration::from_millis(190));
    }
}
