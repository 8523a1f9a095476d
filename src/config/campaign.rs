//! From `[calling]` and `[campaign]` to the dialer's [`Campaign`]: the config
//! (the edge) builds the domain's rules, naming the key at fault; the dialer
//! never reads the config.

use crate::dialer::{
    Amount, CallWindow, Campaign, CustomerKind, OrderRules, RetryPolicy, Rule, RuleError,
};

use super::{parse_duration, AmountSetting, CallingConfig, CampaignConfig};

impl CallingConfig {
    /// Build the confirmation campaign from `[calling]` and `[campaign]`.
    pub fn campaign(&self, campaign: &CampaignConfig) -> Result<Campaign, RuleError> {
        let window = CallWindow::parse(&self.window, &self.timezone)?;
        let interval =
            parse_duration(&self.reattempt_interval).map_err(|reason| RuleError::Rule {
                key: "calling.reattempt_interval".into(),
                reason,
            })?;
        let retry = RetryPolicy::new(self.max_reattempts, interval, self.no_answer_fallback)?;
        Ok(Campaign::new(window, retry, campaign.rules()?))
    }
}

impl CampaignConfig {
    /// The order rules of `[campaign]`, naming the key at fault.
    ///
    /// An absent `rules` list calls every order, so a config written before
    /// rules existed keeps calling; `rules = []` calls none.
    pub fn rules(&self) -> Result<OrderRules, RuleError> {
        let unmatched = self.unmatched;
        let mut flag_above = Vec::new();
        for (kind, setting) in [
            (CustomerKind::New, &self.flag_above.new),
            (CustomerKind::Returning, &self.flag_above.returning),
            (
                CustomerKind::PlatformReturning,
                &self.flag_above.platform_returning,
            ),
        ] {
            if let Some(s) = setting {
                let key = format!("campaign.flag_above.{}", kind.as_str());
                flag_above.push((kind, amount(&key, s)?));
            }
        }
        let Some(list) = &self.rules else {
            return Ok(OrderRules::call_everything().flagging_above(flag_above));
        };
        let mut rules = Vec::with_capacity(list.len());
        for (i, r) in list.iter().enumerate() {
            let key = |field: &str| format!("campaign.rules[{i}].{field}");
            let kinds = match &r.kinds {
                None => CustomerKind::ALL.to_vec(),
                Some(k) if k.is_empty() => {
                    return Err(RuleError::Rule {
                        key: key("kinds"),
                        reason: "is empty: the rule could never match".into(),
                    })
                }
                Some(k) => k.clone(),
            };
            let min_amount = match &r.min_amount {
                Some(s) => amount(&key("min_amount"), s)?,
                None => Amount::ZERO,
            };
            let max_amount = r
                .max_amount
                .as_ref()
                .map(|s| amount(&key("max_amount"), s))
                .transpose()?;
            if max_amount.is_some_and(|max| max <= min_amount) {
                return Err(RuleError::Rule {
                    key: key("max_amount"),
                    reason: "must be greater than min_amount".into(),
                });
            }
            rules.push(Rule {
                kinds,
                min_amount,
                max_amount,
                action: r.action,
            });
        }
        Ok(OrderRules::new(rules, flag_above, unmatched))
    }
}

fn amount(key: &str, setting: &AmountSetting) -> Result<Amount, RuleError> {
    Amount::parse(&setting.text()).map_err(|e| RuleError::Rule {
        key: key.to_string(),
        reason: e.to_string(),
    })
}
