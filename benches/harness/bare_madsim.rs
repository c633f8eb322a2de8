//! The baseline: a request/reply ping-pong between two madsim nodes over raw endpoints, with no
//! fleetsim layer (no envelope, no routing decision, no trace, no dispatcher task).

use madsim::net::Endpoint;
use madsim::runtime::{Handle, Runtime};
use madsim::time::Duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const TAG: u64 = 0xBE7C;
const SERVER_ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 7000);
const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

/// Runs `calls` sequential request/reply exchanges in a fresh runtime; returns messages delivered.
/// Never inlined, so `callgrind --toggle-collect` finds it in the whole-program-optimized binary.
#[inline(never)]
pub fn ping_pong(seed: u64, calls: u64) -> u64 {
    let runtime = Runtime::with_seed_and_config(seed, madsim::Config::default());
    runtime.block_on(async move {
        let handle = Handle::current();
        let server = handle
            .create_node()
            .name("server")
            .ip(SERVER_ADDRESS.ip())
            .init(|| async {
                let endpoint = Endpoint::bind(SERVER_ADDRESS).await.expect("the server port is free");
                loop {
                    let (payload, from) = endpoint.recv_from_raw(TAG).await.expect("the network stays up");
                    endpoint.send_to_raw(from, TAG, payload).await.expect("the reply leaves");
                }
            })
            .build();
        let client = handle.create_node().name("client").ip(CLIENT_IP).build();
        let delivered = client
            .spawn(async move {
                // Let the server bind before the first request.
                madsim::time::sleep(Duration::from_millis(1)).await;
                let endpoint = Endpoint::bind(SocketAddr::new(CLIENT_IP, 0)).await.expect("a free port");
                for call in 0..calls {
                    endpoint.send_to_raw(SERVER_ADDRESS, TAG, Box::new(call)).await.expect("the request leaves");
                    let (reply, _) = endpoint.recv_from_raw(TAG).await.expect("the network stays up");
                    let reply = reply.downcast::<u64>().expect("the server echoes a u64");
                    assert_eq!(*reply, call, "replies come back in order");
                }
                2 * calls
            })
            .await
            .expect("the client finishes");
        // Leave no live task behind: a dropped runtime with live tasks leaks.
        handle.kill(server.id());
        handle.kill(client.id());
        madsim::time::sleep(Duration::from_millis(1)).await;
        delivered
    })
}
