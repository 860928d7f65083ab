//! An HTTP/1.1 proxy in front of MinIO that counts requests by kind and, with a fixed
//! seed, answers a fixed fraction of them with 503 SlowDown or 500 InternalError, or resets
//! the connection (TCP RST) before or after forwarding. The number of injected faults is
//! capped, so a sync with retries always converges. A "poison" substring makes every PUT
//! whose path contains it fail with a 400 that no retry fixes; a "hold" substring makes
//! every PUT whose path contains it wait for ever (never forwarded, never answered), so a
//! sync is certain to be still running. `lose_answer` names requests
//! whose first occurrence is forwarded, done by MinIO, and then answered with a reset: the
//! lost answer to a request that is not idempotent, deterministically.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::net::{TcpListener, TcpStream};

type Body = BoxBody<Bytes, hyper::Error>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A multipart-upload request the proxy can recognise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Multipart {
    /// CreateMultipartUpload: POST ?uploads
    Create,
    /// CompleteMultipartUpload: POST ?uploadId=
    Complete,
    /// AbortMultipartUpload: DELETE ?uploadId=
    Abort,
}

impl Multipart {
    fn matches(self, req: &Request<Incoming>) -> bool {
        let query = req.uri().query().unwrap_or("");
        let has = |name: &str| {
            query
                .split('&')
                .any(|p| p == name || p.starts_with(&format!("{name}=")))
        };
        match self {
            Multipart::Create => req.method() == hyper::Method::POST && has("uploads"),
            Multipart::Complete => req.method() == hyper::Method::POST && has("uploadId"),
            Multipart::Abort => req.method() == hyper::Method::DELETE && has("uploadId"),
        }
    }
}

/// Which faults to inject.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub seed: u64,
    /// Fraction answered 503 SlowDown.
    pub slowdown: f64,
    /// Fraction answered 500 InternalError.
    pub server_error: f64,
    /// Fraction whose connection is reset (half before, half after forwarding).
    pub reset: f64,
    /// At most this many faults in all.
    pub max: u64,
    /// PUTs whose path contains this always fail with 400.
    pub poison: Option<String>,
    /// PUTs whose path contains this are never answered.
    pub hold: Option<String>,
    /// The first request of each of these kinds is forwarded, then its answer is lost (the
    /// connection is reset after MinIO acted on it).
    pub lose_answer: Vec<Multipart>,
}

/// Requests seen, by kind.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub get: AtomicU64,
    pub head: AtomicU64,
    pub put: AtomicU64,
    pub post: AtomicU64,
    pub delete: AtomicU64,
    pub list: AtomicU64,
    pub faults: AtomicU64,
    pub slowdowns: AtomicU64,
    pub server_errors: AtomicU64,
    pub resets: AtomicU64,
    /// Answers lost on purpose (`lose_answer`).
    pub lost_answers: AtomicU64,
    /// PUTs held for ever (`hold`).
    pub held: AtomicU64,
}

impl Counters {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::SeqCst)
    }
    /// Zeroes the request counts (not the fault counts).
    pub fn reset_counts(&self) {
        for c in [
            &self.requests,
            &self.get,
            &self.head,
            &self.put,
            &self.post,
            &self.delete,
            &self.list,
        ] {
            c.store(0, Ordering::SeqCst);
        }
    }
}

struct State {
    upstream: SocketAddr,
    faults: Option<Faults>,
    rng: Mutex<StdRng>,
    counters: Arc<Counters>,
    /// The `lose_answer` kinds not yet used.
    to_lose: Mutex<Vec<Multipart>>,
}

/// A running proxy; dropped, it stops.
pub struct Proxy {
    /// `http://IP:PORT`, where it listens.
    pub endpoint: String,
    pub counters: Arc<Counters>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Proxy {
    /// Starts a proxy on 127.0.0.1 to `127.0.0.1:upstream`.
    pub fn start(upstream: u16, faults: Option<Faults>) -> Proxy {
        let loopback = IpAddr::from([127, 0, 0, 1]);
        Self::start_between(loopback, SocketAddr::new(loopback, upstream), faults)
    }

    /// Starts a proxy listening on `listen` (a free port) to `upstream`. The runtime's
    /// threads are made by the calling thread, so they share its network namespace: the
    /// end-to-end tests call this from a thread inside the test node's namespace.
    pub fn start_between(listen: IpAddr, upstream: SocketAddr, faults: Option<Faults>) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind((listen, 0))).unwrap();
        let port = listener.local_addr().unwrap().port();
        let counters = Arc::new(Counters::default());
        let seed = faults.as_ref().map_or(0, |f| f.seed);
        let to_lose = faults
            .as_ref()
            .map_or_else(Vec::new, |f| f.lose_answer.clone());
        let state = Arc::new(State {
            upstream,
            faults,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            counters: Arc::clone(&counters),
            to_lose: Mutex::new(to_lose),
        });
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&state)));
            }
        });
        Proxy {
            endpoint: format!("http://{}", SocketAddr::new(listen, port)),
            counters,
            runtime: Some(runtime),
        }
    }
}

async fn serve(stream: TcpStream, state: Arc<State>) -> Result<(), BoxError> {
    stream.set_nodelay(true)?;
    let std = stream.into_std()?;
    let keep = TcpStream::from_std(std.try_clone()?)?;
    let stream = TcpStream::from_std(std)?;
    let reset = Arc::new(AtomicBool::new(false));
    let upstream: Arc<tokio::sync::Mutex<Option<SendRequest<Incoming>>>> = Arc::default();
    let (st, rs) = (Arc::clone(&state), Arc::clone(&reset));
    let service =
        service_fn(move |req| handle(req, Arc::clone(&st), Arc::clone(&upstream), Arc::clone(&rs)));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if reset.load(Ordering::SeqCst) {
        // The other descriptor is closed; closing this one with SO_LINGER 0 sends a RST.
        keep.set_zero_linger()?;
    }
    drop(keep);
    Ok(())
}

enum Fault {
    None,
    LoseAnswer,
    SlowDown,
    ServerError,
    ResetBefore,
    ResetAfter,
    Poison,
    Hold,
}

fn decide(state: &State, req: &Request<Incoming>) -> Fault {
    let Some(f) = &state.faults else {
        return Fault::None;
    };
    if let Some(p) = &f.poison {
        let path = percent_decode(req.uri().path());
        if req.method() == hyper::Method::PUT && path.contains(p.as_str()) {
            return Fault::Poison;
        }
    }
    if let Some(h) = &f.hold {
        let path = percent_decode(req.uri().path());
        if req.method() == hyper::Method::PUT && path.contains(h.as_str()) {
            return Fault::Hold;
        }
    }
    {
        let mut to_lose = state.to_lose.lock().unwrap();
        if let Some(i) = to_lose.iter().position(|op| op.matches(req)) {
            to_lose.remove(i);
            return Fault::LoseAnswer;
        }
    }
    if state.counters.faults.load(Ordering::SeqCst) >= f.max {
        return Fault::None;
    }
    let x: f64 = state.rng.lock().unwrap().random();
    let fault = if x < f.slowdown {
        Fault::SlowDown
    } else if x < f.slowdown + f.server_error {
        Fault::ServerError
    } else if x < f.slowdown + f.server_error + f.reset / 2.0 {
        Fault::ResetBefore
    } else if x < f.slowdown + f.server_error + f.reset {
        Fault::ResetAfter
    } else {
        return Fault::None;
    };
    state.counters.faults.fetch_add(1, Ordering::SeqCst);
    fault
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    upstream: Arc<tokio::sync::Mutex<Option<SendRequest<Incoming>>>>,
    reset: Arc<AtomicBool>,
) -> Result<Response<Body>, BoxError> {
    count(&state.counters, &req);
    let c = &state.counters;
    match decide(&state, &req) {
        Fault::None => forward(req, &state, &upstream).await,
        Fault::SlowDown => {
            c.slowdowns.fetch_add(1, Ordering::SeqCst);
            error(req, 503, "SlowDown", "Please reduce your request rate.").await
        }
        Fault::ServerError => {
            c.server_errors.fetch_add(1, Ordering::SeqCst);
            error(
                req,
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
            .await
        }
        Fault::Poison => error(req, 400, "InvalidArgument", "poisoned by the test proxy").await,
        Fault::Hold => {
            c.held.fetch_add(1, Ordering::SeqCst);
            std::future::pending().await
        }
        Fault::ResetBefore => {
            c.resets.fetch_add(1, Ordering::SeqCst);
            reset.store(true, Ordering::SeqCst);
            Err("reset before forwarding".into())
        }
        Fault::LoseAnswer => {
            c.lost_answers.fetch_add(1, Ordering::SeqCst);
            let response = forward(req, &state, &upstream).await?;
            let _ = response.into_body().collect().await;
            reset.store(true, Ordering::SeqCst);
            Err("answer lost on purpose".into())
        }
        Fault::ResetAfter => {
            c.resets.fetch_add(1, Ordering::SeqCst);
            let response = forward(req, &state, &upstream).await?;
            let _ = response.into_body().collect().await;
            reset.store(true, Ordering::SeqCst);
            Err("reset after forwarding".into())
        }
    }
}

async fn forward(
    req: Request<Incoming>,
    state: &State,
    upstream: &tokio::sync::Mutex<Option<SendRequest<Incoming>>>,
) -> Result<Response<Body>, BoxError> {
    let mut slot = upstream.lock().await;
    if slot.as_ref().is_none_or(|s| s.is_closed()) {
        let stream = TcpStream::connect(state.upstream).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        *slot = Some(sender);
    }
    let sender = slot.as_mut().ok_or("no upstream")?;
    sender.ready().await?;
    let response = sender.send_request(req).await?;
    Ok(response.map(BodyExt::boxed))
}

async fn error(
    req: Request<Incoming>,
    status: u16,
    code: &str,
    message: &str,
) -> Result<Response<Body>, BoxError> {
    // Read the body first, as a server does, so the client is not cut off mid-upload.
    let _ = req.into_body().collect().await;
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let body = Full::new(Bytes::from(xml))
        .map_err(|never: Infallible| match never {})
        .boxed();
    Ok(Response::builder()
        .status(StatusCode::from_u16(status)?)
        .header("content-type", "application/xml")
        .body(body)?)
}

fn count(c: &Counters, req: &Request<Incoming>) {
    c.requests.fetch_add(1, Ordering::SeqCst);
    let list = req.uri().query().is_some_and(|q| q.contains("list-type="));
    let which = match *req.method() {
        hyper::Method::GET if list => &c.list,
        hyper::Method::GET => &c.get,
        hyper::Method::HEAD => &c.head,
        hyper::Method::PUT => &c.put,
        hyper::Method::POST => &c.post,
        hyper::Method::DELETE => &c.delete,
        _ => return,
    };
    which.fetch_add(1, Ordering::SeqCst);
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
