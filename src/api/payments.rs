//! Keypad payments on a bridged call: request one, read it, cancel it while
//! it is still pending (the agent's "X"). The live view is in the `sse` module.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;

use super::auth::Principal;
use super::calls::{control_error, random_id, visible_call};
use super::control::PaymentUpdate;
use super::error::ApiError;
use super::extract::path_id;
use super::views::payment_json;
use super::ApiState;
use crate::ivr::payment::EndReason;
use crate::payments::PaymentRequest;
use crate::store::{AgentCallStatus, Payment, PaymentResult, PaymentStatus};

/// `POST /v1/calls/{id}/payments {"item","amount","currency"}`: 201 with the
/// payment (`pending`); 409 unless the call is bridged with no payment
/// running.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let call = visible_call(&state, &principal, &path_id(id)?).await?;
    let body = state.body(body)?;
    let (item, amount) = super::bodies::payment(&body)?;
    if call.status != AgentCallStatus::Bridged {
        return Err(ApiError::Refused {
            field: Some("call"),
            message: format!(
                "call {:?} is {}, not bridged",
                call.id,
                call.status.as_str()
            ),
        });
    }
    let control = state.control()?;
    let store = state.store();
    let req = PaymentRequest {
        payment_id: random_id("pay_"),
        call_id: call.id.clone(),
        item,
        amount,
    };
    let payment = store.insert_payment(&req, state.now()).await?;
    if let Err(e) = control.start_payment(req) {
        let failed = PaymentResult::ended(PaymentStatus::Failed, Some(EndReason::NotStarted));
        if store
            .finish_payment(&payment.id, &failed, &[PaymentStatus::Pending], state.now())
            .await?
            .is_some()
        {
            state.hub().publish(&payment.id, PaymentUpdate::Finished);
        }
        return Err(control_error(&call.id, e));
    }
    Ok((StatusCode::CREATED, Json(payment_json(&payment))).into_response())
}

/// `GET /v1/payments/{id}`.
pub(crate) async fn get(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let payment = visible_payment(&state, &principal, &path_id(id)?).await?;
    Ok(Json(payment_json(&payment)))
}

/// `DELETE /v1/payments/{id}`: the agent's "X". 200 with the payment
/// `cancelled` if it was still `pending`; 409 once the caller has keyed.
pub(crate) async fn cancel(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let payment = visible_payment(&state, &principal, &path_id(id)?).await?;
    let cancel = PaymentResult::ended(PaymentStatus::Cancelled, Some(EndReason::CancelledByAgent));
    let store = state.store();
    match store
        .finish_payment(&payment.id, &cancel, &[PaymentStatus::Pending], state.now())
        .await?
    {
        Some(cancelled) => {
            if let Some(control) = &state.inner.control {
                control.payment_cancelled(&cancelled.call_id, &cancelled.id);
            }
            let hub = state.hub();
            hub.publish(
                &cancelled.id,
                PaymentUpdate::Status(PaymentStatus::Cancelled),
            );
            hub.publish(&cancelled.id, PaymentUpdate::Finished);
            Ok(Json(payment_json(&cancelled)))
        }
        None => {
            let now = store
                .get_payment(&payment.id)
                .await?
                .map_or(payment.status, |p| p.status);
            Err(ApiError::Refused {
                field: None,
                message: format!(
                    "payment {:?} is {}; only a pending payment can be cancelled",
                    payment.id,
                    now.as_str()
                ),
            })
        }
    }
}

/// The payment, if it exists and the principal may see it (else 404).
pub(crate) async fn visible_payment(
    state: &ApiState,
    principal: &Principal,
    id: &str,
) -> Result<Payment, ApiError> {
    state
        .store()
        .get_payment(id)
        .await?
        .filter(|p| principal.sees(&p.agent_id))
        .ok_or_else(|| ApiError::Missing {
            what: "payment",
            id: id.to_string(),
        })
}
