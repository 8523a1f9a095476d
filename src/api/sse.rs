//! `GET /v1/payments/{id}/events`: a payment's progress as Server-Sent
//! Events.
//!
//! On connect: every stored step (`event: step`), then the stored status
//! (`event: status`); then live `step`/`status` events from the
//! [`super::PaymentHub`]; when the payment ends, `event: result` (the
//! payment object) and the stream closes. A `: keep-alive` comment every
//! 15 s keeps proxies from timing the stream out.
//!
//! The stream subscribes to the hub *before* it reads the store, so an
//! update written in between is seen twice rather than never; replayed
//! steps are skipped when they arrive again live.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::stream;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::auth::Principal;
use super::control::{PaymentSubscription, PaymentUpdate};
use super::error::ApiError;
use super::extract::path_id;
use super::payments::visible_payment;
use super::views::{payment_json, step_json};
use super::ApiState;
use crate::store::{Payment, PaymentStatus, PaymentStep};

pub(crate) async fn events(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    // Subscribe first, then read: nothing can fall between the two.
    let subscription = state.hub().subscribe(&id);
    let payment = visible_payment(&state, &principal, &id).await?;
    let mut feed = Feed {
        state: state.clone(),
        id,
        subscription: Some(subscription),
        queue: VecDeque::new(),
        sent: Vec::new(),
        status: None,
        closing: state.inner.closing.subscribe(),
    };
    feed.catch_up(&payment);
    Ok(respond(&state, feed))
}

/// A source of Server-Sent Events for one stream; `None` ends it.
pub(crate) trait EventFeed: Send + 'static {
    fn next_event(&mut self) -> impl std::future::Future<Output = Option<Event>> + Send;
}

/// Serve `feed` as an event stream, with a `: keep-alive` comment at the
/// API's interval (payments here, agents' states in `agent_states.rs`).
pub(crate) fn respond<F: EventFeed>(state: &ApiState, feed: F) -> Response {
    let events = stream::unfold(feed, |mut feed| async move {
        let event = feed.next_event().await?;
        Some((Ok::<Event, Infallible>(event), feed))
    });
    let keep_alive = KeepAlive::new()
        .interval(state.inner.keep_alive)
        .text("keep-alive");
    Sse::new(events).keep_alive(keep_alive).into_response()
}

impl EventFeed for Feed {
    fn next_event(&mut self) -> impl std::future::Future<Output = Option<Event>> + Send {
        self.next()
    }
}

/// One stream's state: events to send, then the live subscription.
struct Feed {
    state: ApiState,
    id: String,
    /// `None` once the result is queued: the stream ends after the queue.
    subscription: Option<PaymentSubscription>,
    queue: VecDeque<Event>,
    /// Steps already queued (a payment has a few dozen at most), so a step
    /// read from the store is not sent again when it also arrives live.
    sent: Vec<PaymentStep>,
    /// The last status sent, so a status read back from the store after
    /// it arrived live is not repeated.
    status: Option<PaymentStatus>,
    /// The server is shutting down: end the stream.
    closing: tokio::sync::watch::Receiver<bool>,
}

impl Feed {
    /// Queue the stored steps not sent yet and the status; the result too
    /// (and no more live events) if the payment has ended.
    fn catch_up(&mut self, payment: &Payment) {
        for step in &payment.steps {
            self.push_step(step);
        }
        self.push_status(payment.status);
        if payment.status.is_final() {
            self.queue.push_back(
                Event::default()
                    .event("result")
                    .data(payment_json(payment).to_string()),
            );
            self.subscription = None;
        }
    }

    fn push_status(&mut self, status: PaymentStatus) {
        if self.status != Some(status) {
            self.queue.push_back(status_event(status));
            self.status = Some(status);
        }
    }

    fn push_step(&mut self, step: &PaymentStep) {
        if !self.sent.contains(step) {
            self.queue.push_back(step_event(step));
            self.sent.push(step.clone());
        }
    }

    /// The next event to send, or `None` to close the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            let subscription = self.subscription.as_mut()?;
            let update = tokio::select! {
                update = subscription.recv() => update,
                _ = self.closing.wait_for(|closing| *closing) => return None,
            };
            match update {
                Ok(PaymentUpdate::Step(step)) => self.push_step(&step),
                Ok(PaymentUpdate::Status(status)) => self.push_status(status),
                // Finished, the channel gone, or this client fell behind:
                // the store has the truth.
                Ok(PaymentUpdate::Finished)
                | Err(RecvError::Closed)
                | Err(RecvError::Lagged(_)) => {
                    let lagged = matches!(update, Err(RecvError::Lagged(_)));
                    match self.state.store().get_payment(&self.id).await {
                        Ok(Some(p)) => self.catch_up(&p),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::error!(error = %e, payment = %self.id, "SSE cannot read the payment")
                        }
                    }
                    if !lagged {
                        // Nothing more will come on this channel.
                        self.subscription = None;
                    }
                }
            }
        }
    }
}

fn step_event(step: &PaymentStep) -> Event {
    Event::default()
        .event("step")
        .data(step_json(step).to_string())
}

fn status_event(status: PaymentStatus) -> Event {
    Event::default()
        .event("status")
        .data(json!({ "status": status.as_str() }).to_string())
}
