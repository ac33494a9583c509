"""The write path: every change to the record goes down these steps, in this order, inside
one `db.write_transaction()` (server/core/db.py):

1. ingest        `push_ops`: decode each op (before any lock), then queue the push: one
                 transaction takes every push waiting (group commit), in rounds of one
                 push per device; for each push of a round it checks its ops (scope,
                 lineage, reuse; the round's reads made once), dead-letters the bad ones,
                 then groups the round's good ones by incident; keeps each device's ops in
                 order (`device_high_water`) and indexes the blobs they name (`blob_ref`)
2. reconcile     `reconcile`: fold the group's events (sync/rules.py), store new events and
                 changed flags; `reconcile_incidents` does it for all the incidents of a
                 push with their reads in bulk and their writes held (`group.Deferred`)
   verdicts      `index_invites`: index rating invites (PROTOCOL §9) and count a verdict
                 that waited for one; `record_verdict`, the one place a citizen's verdict
                 is recorded (feedback, callback task, review item, audit, publish);
                 `open_callback_task` on a close
   supervision   PROTOCOL §11: `publish_order` recomputes a supervision order from its
                 replies and acts, stores it, appends the `supervision` change and
                 republishes the incident; `store_rectifications` (events of no incident,
                 never folded) and `publish_notice` (one `notice` change per named
                 station); `fire_order` / `fire_rectification` for the SLA watch
3. review_items  `open_review_items`: a review item per flag and per conflict
4. publish       `publish_incident` / `publish_mediation`: rebuild the record, store its
                 SLA clocks, append it to the feed
5. feed          `append_changes`: the change feed; registers `announce.feed_moved` to run
                 after the commit, so the live hubs hear of it

Command-center acts (server/services/) enter at step 4; the SLA watch at step 3.
A step imports only the steps after it (tests/test_boundaries.py). `group` names what
one fold covers.
"""
