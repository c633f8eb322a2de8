//! The event pipeline's shape, timing and the bounds its time-based invariants judge by. The
//! bounds are scenario parameters, chosen from the fixed pipeline's measured maxima with a margin
//! (BUGS.md gives both), and every violation prints the bound it broke.

/// Sizes, periods and bounds, in simulated milliseconds and counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventsSettings {
    /// Large tenants (whales): tenant-1 up to this number.
    pub whales: u32,
    /// Small tenants, numbered after the whales.
    pub small_tenants: u32,
    /// Items each whale starts with.
    pub whale_items: u32,
    /// Items each small tenant starts with.
    pub small_items: u32,
    /// How often the source publishes the events it has not yet had acknowledged.
    pub publish_interval_ms: u64,
    /// How long one call between the pipeline's nodes may take.
    pub call_timeout_ms: u64,
    /// How often the collector reads the next page of the stream.
    pub poll_interval_ms: u64,
    /// Events per page.
    pub page_size: usize,
    /// Most events waiting in the consumer's queue; past it the collector waits.
    pub queue_max: usize,
    /// Workers of the consumer, each handling one event at a time.
    pub workers: usize,
    /// A handler's own work per event.
    pub service_ms: u64,
    /// The pause between a transaction's two statements.
    pub statement_ms: u64,
    /// How long an item stays in the consumer's cache.
    pub item_ttl_ms: u64,
    /// How long the collector's cached cursor stays (the write-up's hour, scaled to the run).
    pub cursor_ttl_ms: u64,
    /// How often the tenant dashboard renders its items, through the cache.
    pub dashboard_interval_ms: u64,
    /// How many live items the dashboard renders (the oldest).
    pub dashboard_items: usize,
    /// The window `backend-rate` counts the item API's refetches in.
    pub fetch_window_ms: u64,
    /// Most refetches of expired items the item API may see in one window (`backend-rate`).
    pub fetches_per_window_max: u64,
    /// Longest lag from an event's emission to its handling (`projection-fresh`).
    pub lag_ms_max: u64,
    /// Longest wait of a small tenant's event in the queue while the consumer runs (`tenant-wait`).
    pub small_wait_ms_max: u64,
    /// Longest wait for a row lock while the consumer runs (`no-deadlock`).
    pub lock_wait_ms_max: u64,
    /// Most events the stream's log holds; past it publishes are refused.
    pub log_max: usize,
}

impl Default for EventsSettings {
    fn default() -> Self {
        Self {
            whales: 2,
            small_tenants: 8,
            whale_items: 8,
            small_items: 2,
            publish_interval_ms: 20,
            call_timeout_ms: 200,
            poll_interval_ms: 50,
            page_size: 25,
            queue_max: 2_000,
            workers: 2,
            service_ms: 20,
            statement_ms: 2,
            item_ttl_ms: 2_000,
            cursor_ttl_ms: 8_000,
            dashboard_interval_ms: 200,
            dashboard_items: 32,
            fetch_window_ms: 200,
            fetches_per_window_max: 24,
            lag_ms_max: 30_000,
            small_wait_ms_max: 1_500,
            lock_wait_ms_max: 250,
            log_max: 20_000,
        }
    }
}

impl EventsSettings {
    /// Every tenant, whales first.
    pub fn tenants(&self) -> impl Iterator<Item = crate::ids::TenantId> {
        (1..=self.whales + self.small_tenants).map(crate::ids::TenantId)
    }

    /// Whether `tenant` is one of the small ones.
    pub fn is_small(&self, tenant: crate::ids::TenantId) -> bool {
        tenant.0 > self.whales
    }
}
