//! Where a charge sits in its stored-credential series.
//!
//! A series is one standing-instruction agreement: the customer agreed to one plan (a
//! subscription), its first payment is sent as `first`, and every later payment of that plan
//! is `subsequent` and refers to that first payment. Two plans on one card are two agreements
//! and so two series; a re-initialized credential closes every series on it. The card networks
//! and Payroc expect the processing model (recurring or installment) to stay the same for the
//! whole series, so a series records the model it was opened with.
//!
//! The decision depends on the series and the plan's model only, not on the cycle number: the
//! first cycle of a migrated agreement continues a series opened elsewhere, and a later cycle
//! after a re-initialization opens a new one.

use super::position::{ProcessingModel, Sequence};

/// The approved first payment of a series: what every later payment refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstPayment {
    /// The gateway's id of the first payment.
    pub payment_id: String,
    /// The card network's reference for it, when the gateway returned one. It cannot be asked
    /// for later, so it is kept with the series.
    pub scheme_reference: Option<String>,
}

/// Where a subscription's series stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesState {
    /// None was opened, or the last one was closed (a re-initialized credential): the next
    /// charge opens one.
    None,
    /// A `first` payment is out and its answer is not known: it may open the series or not.
    FirstInFlight,
    /// Opened by an approved first payment, under this processing model.
    Established {
        first: FirstPayment,
        model: ProcessingModel,
    },
}

/// A charge's position in its series, as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InSeries {
    pub sequence: Sequence,
    pub model: ProcessingModel,
    /// The first payment a `subsequent` one refers to; `None` for a `first`.
    pub first: Option<FirstPayment>,
}

/// What to do with a charge of a subscription whose series is in `series`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesDecision {
    Send(InSeries),
    /// The series' first payment is still out: until its answer is known, this charge could be
    /// neither a `first` (that would open a second series for one agreement) nor a
    /// `subsequent` (there is nothing approved to refer to yet).
    Wait,
}

/// The position of a charge of a plan whose processing model is `plan`.
///
/// An established series whose model differs from the plan's is not continued: the model
/// cannot change within a series, so such a charge opens a new one. (A subscription's plan
/// does not change today; this keeps the rule true if it ever does, and for a series given
/// by a merchant that does not match the plan.)
pub fn place(series: &SeriesState, plan: ProcessingModel) -> SeriesDecision {
    let opening = InSeries {
        sequence: Sequence::First,
        model: plan,
        first: None,
    };
    match series {
        SeriesState::None => SeriesDecision::Send(opening),
        SeriesState::FirstInFlight => SeriesDecision::Wait,
        SeriesState::Established { first, model } if *model == plan => {
            SeriesDecision::Send(InSeries {
                sequence: Sequence::Subsequent,
                model: plan,
                first: Some(first.clone()),
            })
        }
        SeriesState::Established { .. } => SeriesDecision::Send(opening),
    }
}

/// The series a first payment opens once approved.
pub fn opened_by(
    first: &InSeries,
    payment_id: &str,
    scheme_reference: Option<&str>,
) -> SeriesState {
    SeriesState::Established {
        first: FirstPayment {
            payment_id: payment_id.to_owned(),
            scheme_reference: scheme_reference.map(str::to_owned),
        },
        model: first.model,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProcessingModel::{Installment, Recurring};

    fn first(id: &str) -> FirstPayment {
        FirstPayment {
            payment_id: id.into(),
            scheme_reference: Some(format!("SCHEME-{id}")),
        }
    }

    fn established(id: &str, model: ProcessingModel) -> SeriesState {
        SeriesState::Established {
            first: first(id),
            model,
        }
    }

    #[test]
    fn no_series_opens_one_with_the_plans_model() {
        for plan in [Recurring, Installment] {
            assert_eq!(
                place(&SeriesState::None, plan),
                SeriesDecision::Send(InSeries {
                    sequence: Sequence::First,
                    model: plan,
                    first: None,
                })
            );
        }
    }

    #[test]
    fn a_first_in_flight_makes_every_other_charge_wait() {
        for plan in [Recurring, Installment] {
            assert_eq!(
                place(&SeriesState::FirstInFlight, plan),
                SeriesDecision::Wait
            );
        }
    }

    #[test]
    fn an_established_series_is_continued_with_its_reference() {
        for plan in [Recurring, Installment] {
            assert_eq!(
                place(&established("P1", plan), plan),
                SeriesDecision::Send(InSeries {
                    sequence: Sequence::Subsequent,
                    model: plan,
                    first: Some(first("P1")),
                })
            );
        }
    }

    #[test]
    fn a_series_of_another_model_is_never_continued() {
        for (series, plan) in [(Recurring, Installment), (Installment, Recurring)] {
            let SeriesDecision::Send(p) = place(&established("P1", series), plan) else {
                panic!("an established series never waits");
            };
            assert_eq!(
                (p.sequence, p.model, p.first),
                (Sequence::First, plan, None)
            );
        }
    }

    /// Two plans on one card, charged in any interleaving: each has its own series, every
    /// payment of a series has the model of its first, and every subsequent payment refers to
    /// the first payment of its own plan.
    #[test]
    fn two_plans_keep_two_series_with_constant_models() {
        let plans = [Installment, Recurring];
        let mut series = [SeriesState::None, SeriesState::None];
        let mut sent: Vec<(usize, InSeries)> = Vec::new();
        for (n, plan_no) in [0, 1, 1, 0, 1, 1, 0].into_iter().enumerate() {
            let SeriesDecision::Send(p) = place(&series[plan_no], plans[plan_no]) else {
                panic!("nothing is in flight between charges here");
            };
            if p.sequence == Sequence::First {
                series[plan_no] = opened_by(&p, &format!("PAY{n}"), Some("S"));
            }
            sent.push((plan_no, p));
        }
        for plan_no in 0..2 {
            let mine: Vec<&InSeries> = sent
                .iter()
                .filter(|(p, _)| *p == plan_no)
                .map(|(_, s)| s)
                .collect();
            assert_eq!(mine[0].sequence, Sequence::First);
            assert!(mine.iter().all(|s| s.model == plans[plan_no]));
            let SeriesState::Established { first: opener, .. } = &series[plan_no] else {
                panic!("plan {plan_no} opened its series");
            };
            assert!(mine[1..].iter().all(|s| {
                s.sequence == Sequence::Subsequent && s.first.as_ref() == Some(opener)
            }));
        }
        assert_ne!(series[0], series[1], "one series per plan");
    }

    #[test]
    fn a_closed_series_is_opened_again_by_the_next_charge() {
        // After a re-initialization the series is `None` again, whatever the cycle.
        let SeriesDecision::Send(p) = place(&SeriesState::None, Recurring) else {
            panic!()
        };
        assert_eq!(p.sequence, Sequence::First);
        let reopened = opened_by(&p, "P2", None);
        assert_eq!(
            reopened,
            SeriesState::Established {
                first: FirstPayment {
                    payment_id: "P2".into(),
                    scheme_reference: None
                },
                model: Recurring
            }
        );
    }
}
