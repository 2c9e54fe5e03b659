//! The storage contract suite: every scenario of `kinko_core::Store` written once, backend-neutral,
//! and run on a fresh, migrated database of every backend in [`backends`].
//!
//! A scenario is an `async fn(&dyn Store)` (or `async fn(&Backend)` when it must close and reopen
//! the database, or look at what the backend wrote). Scenarios never name a backend, never use SQL,
//! and only rely on what `kinko-core/src/store.rs` promises, so a new backend (PostgreSQL next)
//! gets the whole suite by adding one arm to [`backends::Backend`].

mod accounts;
mod aliases;
mod at_rest;
mod audit;
mod audit_hourly;
mod audit_rounds;
mod backends;
mod console_sessions;
mod durability;
mod fixtures;
mod grants;
mod identity;
mod installation;
mod keys;
mod lifecycle;
mod multi_region;
mod rewrap;
mod secrets;
mod settings;
mod tags;

/// Generates one `#[tokio::test]` per scenario. `store` scenarios get a fresh, open store of each
/// backend; `backend` scenarios get the backend itself (to reopen it or scan its files);
/// `backend_multi_thread` scenarios too, on a multi-threaded runtime (tasks run in parallel).
macro_rules! contract {
    (store: $($name:ident => $scenario:path;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                for backend in backends::fresh().await {
                    // Shown only when the scenario fails: which backend broke the contract.
                    eprintln!("scenario {} on backend {}", stringify!($name), backend.name());
                    let db = backend.open().await;
                    $scenario(&*db.store).await;
                    db.close().await;
                }
            }
        )*
    };
    (backend_multi_thread: $($name:ident => $scenario:path;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                for backend in backends::fresh().await {
                    eprintln!("scenario {} on backend {}", stringify!($name), backend.name());
                    $scenario(&backend).await;
                }
            }
        )*
    };
    (backend: $($name:ident => $scenario:path;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                for backend in backends::fresh().await {
                    eprintln!("scenario {} on backend {}", stringify!($name), backend.name());
                    $scenario(&backend).await;
                }
            }
        )*
    };
}

contract! { store:
    console_sessions_round_trip_touch_and_sweep => console_sessions::console_sessions_round_trip_touch_and_sweep;
    secrets_round_trip => secrets::secrets_round_trip;
    accounts_list_oldest_first_and_reject_duplicates => accounts::accounts_list_oldest_first_and_reject_duplicates;
    access_keys_round_trip => accounts::access_keys_round_trip;
    create_key_round_trips_key_material_and_tags => keys::create_key_round_trips_key_material_and_tags;
    regions_of_one_multi_region_key_are_keys_of_their_own => multi_region::regions_of_one_multi_region_key_are_keys_of_their_own;
    update_keys_is_all_or_nothing => multi_region::update_keys_is_all_or_nothing;
    create_key_with_taken_id_is_conflict_and_writes_nothing => keys::create_key_with_taken_id_is_conflict_and_writes_nothing;
    create_key_failing_midway_leaves_no_key => keys::create_key_failing_midway_leaves_no_key;
    get_key_is_scoped_by_account_and_region => keys::get_key_is_scoped_by_account_and_region;
    list_keys_orders_by_id_and_pages_with_after_and_limit => keys::list_keys_orders_by_id_and_pages_with_after_and_limit;
    update_key_replaces_mutable_fields => keys::update_key_replaces_mutable_fields;
    update_key_with_stale_version_is_conflict_and_changes_nothing => keys::update_key_with_stale_version_is_conflict_and_changes_nothing;
    get_material_is_scoped_by_key_and_version => keys::get_material_is_scoped_by_key_and_version;
    aliases_create_get_and_duplicate => aliases::aliases_create_get_and_duplicate;
    alias_names_are_unique_per_account_and_region_only => aliases::alias_names_are_unique_per_account_and_region_only;
    update_alias_retargets => aliases::update_alias_retargets;
    delete_alias_reports_whether_it_existed => aliases::delete_alias_reports_whether_it_existed;
    list_aliases_filters_by_target_and_pages => aliases::list_aliases_filters_by_target_and_pages;
    count_aliases_counts_per_target => aliases::count_aliases_counts_per_target;
    put_tags_inserts_and_overwrites => tags::put_tags_inserts_and_overwrites;
    delete_tags_ignores_missing_keys => tags::delete_tags_ignores_missing_keys;
    list_tags_orders_by_key_and_pages => tags::list_tags_orders_by_key_and_pages;
    tags_belong_to_one_key => tags::tags_belong_to_one_key;
    grants_round_trip_and_list_by_id => grants::grants_round_trip_and_list_by_id;
    retirable_grants_are_scoped_and_paged => grants::retirable_grants_are_scoped_and_paged;
    delete_grant_reports_whether_it_existed => grants::delete_grant_reports_whether_it_existed;
    grants_go_with_their_key => grants::grants_go_with_their_key;
    settings_get_put_and_overwrite => settings::settings_get_put_and_overwrite;
    put_setting_if_absent_keeps_the_first_value => settings::put_setting_if_absent_keeps_the_first_value;
    job_lock_is_granted_again_after_release => settings::job_lock_is_granted_again_after_release;
    list_all_keys_spans_accounts_and_regions_and_pages => installation::list_all_keys_spans_accounts_and_regions_and_pages;
    list_materials_returns_the_materials_of_one_key => installation::list_materials_returns_the_materials_of_one_key;
    list_access_keys_returns_every_access_key => installation::list_access_keys_returns_every_access_key;
    delete_setting_removes_one_setting => installation::delete_setting_removes_one_setting;
    rewrap_material_replaces_only_under_the_old_root => rewrap::rewrap_material_replaces_only_under_the_old_root;
    rewrap_access_key_replaces_only_under_the_old_root => rewrap::rewrap_access_key_replaces_only_under_the_old_root;
    append_audit_numbers_and_links_a_chain => audit::append_audit_numbers_and_links_a_chain;
    audit_chains_are_independent => audit::audit_chains_are_independent;
    successful_mutations_commit_exactly_their_event => audit::successful_mutations_commit_exactly_their_event;
    failed_mutations_leave_no_event => audit::failed_mutations_leave_no_event;
    query_audit_filters_newest_first => audit::query_audit_filters_newest_first;
    query_audit_filters_inside_batches => audit::query_audit_filters_inside_batches;
    query_audit_pages_with_the_cursor => audit::query_audit_pages_with_the_cursor;
    unfiltered_pages_span_small_and_large_batches => audit_rounds::unfiltered_pages_span_small_and_large_batches;
    digests_list_oldest_first_and_reject_duplicates => audit::digests_list_oldest_first_and_reject_duplicates;
    prune_audit_deletes_up_to_the_anchor_and_stores_it => audit::prune_audit_deletes_up_to_the_anchor_and_stores_it;
    key_last_usage_is_the_newest_successful_cryptographic_event => audit::key_last_usage_is_the_newest_successful_cryptographic_event;
    key_usage_counts_count_successes_per_operation => audit::key_usage_counts_count_successes_per_operation;
    hourly_counts_count_an_accounts_events_per_hour => audit_hourly::hourly_counts_count_an_accounts_events_per_hour;
    hourly_counts_sum_the_chains_and_forget_pruned_events => audit_hourly::hourly_counts_sum_the_chains_and_forget_pruned_events;
    add_material_rotates_atomically => lifecycle::add_material_rotates_atomically;
    put_material_replaces_the_row_and_the_key => lifecycle::put_material_replaces_the_row_and_the_key;
    delete_key_removes_everything_once => lifecycle::delete_key_removes_everything_once;
    keys_due_finds_exactly_the_due_keys => lifecycle::keys_due_finds_exactly_the_due_keys;
    import_parameters_round_trip => lifecycle::import_parameters_round_trip;
    iam_users_round_trip => identity::iam_users_round_trip;
    iam_roles_round_trip => identity::iam_roles_round_trip;
    inline_policies_belong_to_their_owner => identity::inline_policies_belong_to_their_owner;
    user_access_keys_activate_and_delete => identity::user_access_keys_activate_and_delete;
    sessions_round_trip_rewrap_and_expire => identity::sessions_round_trip_rewrap_and_expire;
}

contract! { backend:
    everything_survives_close_and_reopen => durability::everything_survives_close_and_reopen;
    reopening_twice_is_harmless => durability::reopening_twice_is_harmless;
    stored_material_is_exactly_the_wrapped_bytes => at_rest::stored_material_is_exactly_the_wrapped_bytes;
    rewrap_and_delete_setting_survive_reopen => rewrap::rewrap_and_delete_setting_survive_reopen;
    audit_trail_survives_close_and_reopen => audit::audit_trail_survives_close_and_reopen;
}

contract! { backend_multi_thread:
    concurrent_appends_and_mutations_keep_the_chain_gapless => audit::concurrent_appends_and_mutations_keep_the_chain_gapless;
}
