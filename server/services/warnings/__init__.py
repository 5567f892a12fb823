"""Official early warnings (CAP 1.2 / GB/T 35965.1), from intake to receipt. No Flask.

- sources: where warnings come from (feeds, webhooks, uploads), each with its policy
  rules; the street's and communities' division codes and building positions;
- intake: every arrival stored once (refusals with their reason), then decided;
- matching: which paired screens a message's area reaches, and why;
- dispatch: the policy (send now, wait for approval, ignore), the broadcast that shows
  the warning (through services.broadcasts), updates, cancels, expiry, approval timeouts;
- reading, receipts, feeds: who sees what, the per-screen receipt, polling feeds.

Everything done without a person is done as Actor.system(street, SYSTEM_NAME).
"""

SYSTEM_NAME = "early-warning"
