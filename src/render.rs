//! `haproxy.cfg` from a `LoadBalancerPlan`, through the askama template. Owner: issue 5.
