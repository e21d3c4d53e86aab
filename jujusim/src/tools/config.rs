//! `config-get`, `unit-get`, `network-get` (spec §4.6–§4.8): read-only views of the
//! application config and the unit's addresses held in the context.

use super::flags::{Flag, FlagValue, Key};
use super::output::Val;
use super::text::{go_quote, unrecognized};
use super::{output_flag, output_flags, relation_flags, smart_output, Call, Tool, ToolError};

pub(crate) static TOOLS: &[Tool] = &[
    Tool {
        name: "config-get",
        args: "[<key>]",
        purpose: "Print application configuration.",
        flags: &CONFIG_GET_FLAGS,
        run: config_get,
    },
    Tool {
        name: "unit-get",
        args: "<setting>",
        purpose: "Print public-address or private-address.",
        flags: &OUT,
        run: unit_get,
    },
    Tool {
        name: "network-get",
        args: "<binding-name> [--ingress-address] [--bind-address] [--egress-subnets]",
        purpose: "Get network config.",
        flags: &NETWORK_GET_FLAGS,
        run: network_get,
    },
];

const OUT: [Flag; 3] = output_flags("smart");
const REL: [Flag; 2] = relation_flags();
const CONFIG_GET_FLAGS: [Flag; 5] = [
    OUT[0],
    OUT[1],
    OUT[2],
    Flag::switch("a", Key::All, "print all keys"),
    Flag::switch("all", Key::All, ""),
];
const NETWORK_GET_FLAGS: [Flag; 9] = [
    OUT[0],
    OUT[1],
    OUT[2],
    Flag::switch(
        "primary-address",
        Key::PrimaryAddress,
        "(deprecated) get the primary address for the binding",
    ),
    Flag::switch(
        "bind-address",
        Key::BindAddress,
        "get the address for the binding on which the unit should listen",
    ),
    Flag::switch(
        "ingress-address",
        Key::IngressAddress,
        "get the ingress address for the binding",
    ),
    Flag::switch(
        "egress-subnets",
        Key::EgressSubnets,
        "get the egress subnets for the binding",
    ),
    REL[0],
    REL[1],
];

/// §4.6 `config-get`.
fn config_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let mut all = false;
    let pos = call.parse(|key, v| {
        if let Some(r) = output_flag(&mut out, key, &v) {
            return r;
        }
        if key == Key::All {
            all = v == FlagValue::Bool(true);
        }
        Ok(())
    })?;
    let mut key = String::new();
    if let Some((first, rest)) = pos.split_first() {
        key = first.clone();
        if !key.is_empty() && all {
            return Err(ToolError::Usage(format!(
                "cannot use argument --all together with key {}",
                go_quote(&key)
            )));
        }
        if !rest.is_empty() {
            return Err(ToolError::Usage(unrecognized(rest)));
        }
    }
    let value = if key.is_empty() {
        Val::Map(
            call.ctx
                .config
                .iter()
                .filter(|(_, v)| all || !v.is_null())
                .map(|(k, v)| (k.clone(), Val::from_json(v)))
                .collect(),
        )
    } else {
        call.ctx
            .config
            .get(&key)
            .map(Val::from_json)
            .unwrap_or(Val::Null)
    };
    call.emit(&out, &value)
}

/// §4.7 `unit-get`.
fn unit_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let pos = call.parse(|key, v| output_flag(&mut out, key, &v).unwrap_or(Ok(())))?;
    let Some((setting, rest)) = pos.split_first() else {
        return Err(ToolError::Usage("no setting specified".into()));
    };
    let value = match setting.as_str() {
        "private-address" => call.ctx.addresses.private_address.clone(),
        "public-address" => call.ctx.addresses.public_address.clone(),
        other => {
            return Err(ToolError::Usage(format!(
                "unknown setting {}",
                go_quote(other)
            )))
        }
    };
    if !rest.is_empty() {
        return Err(ToolError::Usage(unrecognized(rest)));
    }
    call.emit(&out, &Val::Str(value))
}

/// §4.8 `network-get`.
fn network_get(call: &mut Call) -> Result<Vec<u8>, ToolError> {
    let mut out = smart_output();
    let mut rel = call.ctx.relation_id;
    let (mut primary, mut bind, mut ingress, mut egress) = (false, false, false, false);
    let pos = {
        let c = &*call;
        c.parse(|key, v| {
            if let Some(r) = output_flag(&mut out, key, &v) {
                return r;
            }
            let on = v == FlagValue::Bool(true);
            match key {
                Key::Relation => rel = Some(c.relation_id(v)?),
                Key::PrimaryAddress => primary = on,
                Key::BindAddress => bind = on,
                Key::IngressAddress => ingress = on,
                Key::EgressSubnets => egress = on,
                _ => {}
            }
            Ok(())
        })?
    };
    let Some((binding, rest)) = pos.split_first() else {
        return Err(ToolError::Usage("no arguments specified".into()));
    };
    if binding.is_empty() {
        return Err(ToolError::Usage("no binding name specified".into()));
    }
    if !rest.is_empty() {
        return Err(ToolError::Usage(unrecognized(rest)));
    }
    if !call.ctx.bindings.contains(binding) {
        return Err(ToolError::Run(format!(
            "no network config found for binding {}",
            go_quote(binding)
        )));
    }
    let a = &call.ctx.addresses;
    let (ingress_addr, egress_subnets) = match rel.and_then(|id| call.ctx.relations.get(&id)) {
        Some(r) if !r.ingress_address.is_empty() => {
            (r.ingress_address.clone(), r.egress_subnets.clone())
        }
        _ => (a.ingress_address.clone(), a.egress_subnets.clone()),
    };
    let ingress_addr = if ingress_addr.is_empty() {
        a.private_address.clone()
    } else {
        ingress_addr
    };
    // §4.8: egress defaults to the first ingress address as a /32.
    let egress_subnets = if egress_subnets.is_empty() {
        vec![format!("{ingress_addr}/32")]
    } else {
        egress_subnets
    };
    let bind_addr = a.private_address.clone();
    if primary {
        if bind || ingress || egress {
            return Err(ToolError::Run(
                "--primary-address must be the only flag specified".into(),
            ));
        }
        return call.emit(&out, &Val::Str(bind_addr));
    }
    let mut keyed: Vec<(&str, Val)> = Vec::new();
    if bind {
        keyed.push(("bind-address", Val::Str(bind_addr.clone())));
    }
    if egress {
        keyed.push(("egress-subnets", Val::StrList(egress_subnets.clone())));
    }
    if ingress {
        keyed.push(("ingress-address", Val::Str(ingress_addr.clone())));
    }
    let value = match keyed.len() {
        0 => full_info(
            call,
            &bind_addr,
            &ingress_addr,
            &egress_subnets,
            out.format == super::output::Format::Json,
        ),
        1 => keyed.remove(0).1,
        _ => Val::Map(keyed.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
    };
    call.emit(&out, &value)
}

/// The whole `NetworkInfoResult`, fields in Go struct order; YAML also carries the legacy keys.
fn full_info(call: &Call, bind: &str, ingress: &str, egress: &[String], json: bool) -> Val {
    let a = &call.ctx.addresses;
    let mut address = vec![
        ("hostname".to_string(), Val::str("")),
        ("value".to_string(), Val::str(bind)),
        ("cidr".to_string(), Val::str(a.cidr.clone())),
    ];
    let mut info = vec![
        ("mac-address".to_string(), Val::str(a.mac_address.clone())),
        (
            "interface-name".to_string(),
            Val::str(a.interface_name.clone()),
        ),
    ];
    if !json {
        address.push(("address".to_string(), Val::str(bind)));
    }
    info.push(("addresses".to_string(), Val::List(vec![Val::Map(address)])));
    if !json {
        info.push(("macaddress".to_string(), Val::str(a.mac_address.clone())));
        info.push((
            "interfacename".to_string(),
            Val::str(a.interface_name.clone()),
        ));
    }
    let mut result = vec![(
        "bind-addresses".to_string(),
        Val::List(vec![Val::Map(info)]),
    )];
    if !egress.is_empty() {
        result.push(("egress-subnets".to_string(), Val::StrList(egress.to_vec())));
    }
    if !ingress.is_empty() {
        result.push((
            "ingress-addresses".to_string(),
            Val::StrList(vec![ingress.to_string()]),
        ));
    }
    Val::Map(result)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn config_get_conformance() {
        check_table(
            "config-get",
            fixture,
            &[
                ok(
                    &["--format=json"],
                    "{\"enable_monitoring\":false,\"global_maxconn\":4096,\"name\":\"lb \\u003c\\u0026\\u003e x\",\"ratio\":0.5,\"services\":\"\"}\n",
                ),
                ok(
                    &["--format=json", "--all"],
                    "{\"enable_monitoring\":false,\"global_maxconn\":4096,\"name\":\"lb \\u003c\\u0026\\u003e x\",\"ratio\":0.5,\"services\":\"\",\"ssl_cert\":null}\n",
                ),
                ok(&["-a", "--format=yaml"], "enable_monitoring: false\nglobal_maxconn: 4096\nname: lb <&> x\nratio: 0.5\nservices: \"\"\nssl_cert: null\n"),
                ok(&["global_maxconn"], "4096\n"),
                ok(&["global_maxconn", "--format=json"], "4096\n"),
                ok(&["enable_monitoring"], "False\n"),
                ok(&["services"], ""),
                ok(&["services", "--format=json"], "\"\"\n"),
                ok(&["ssl_cert", "--format=json"], "null\n"),
                ok(&["ssl_cert"], ""),
                ok(&["nope", "--format=json"], "null\n"),
                ok(&["--all", ""], "enable_monitoring: false\nglobal_maxconn: 4096\nname: lb <&> x\nratio: 0.5\nservices: \"\"\nssl_cert: null\n"),
                usage(&["--all", "ratio"], "cannot use argument --all together with key \"ratio\""),
                usage(&["ratio", "x"], "unrecognized args: [\"x\"]"),
                usage(&["-all", "ratio"], "option provided but not defined: -l"),
                // gnuflag quirk: the rest of a cluster in the last argument is dropped.
                ok(&["--format=yaml", "-all"], "enable_monitoring: false\nglobal_maxconn: 4096\nname: lb <&> x\nratio: 0.5\nservices: \"\"\nssl_cert: null\n"),
            ],
        );
    }

    #[test]
    fn unit_get_conformance() {
        check_table(
            "unit-get",
            fixture,
            &[
                ok(&["private-address"], "198.18.0.1\n"),
                ok(&["public-address", "--format=json"], "\"198.18.0.1\"\n"),
                usage(&[], "no setting specified"),
                usage(&["x"], "unknown setting \"x\""),
                usage(&["private-address", "y"], "unrecognized args: [\"y\"]"),
            ],
        );
    }

    #[test]
    fn network_get_conformance() {
        check_table(
            "network-get",
            plain_hook,
            &[
                ok(
                    &["--format=json", "website"],
                    "{\"bind-addresses\":[{\"mac-address\":\"00:16:3e:aa:bb:cc\",\"interface-name\":\"eth0\",\"addresses\":[{\"hostname\":\"\",\"value\":\"198.18.0.1\",\"cidr\":\"198.18.0.0/16\"}]}],\"egress-subnets\":[\"198.18.0.1/32\"],\"ingress-addresses\":[\"198.18.0.1\"]}\n",
                ),
                ok(
                    &["website", "-r", "10", "--format", "json"],
                    "{\"bind-addresses\":[{\"mac-address\":\"00:16:3e:aa:bb:cc\",\"interface-name\":\"eth0\",\"addresses\":[{\"hostname\":\"\",\"value\":\"198.18.0.1\",\"cidr\":\"198.18.0.0/16\"}]}],\"egress-subnets\":[\"198.18.9.0/24\",\"198.19.0.0/16\"],\"ingress-addresses\":[\"198.18.9.9\"]}\n",
                ),
                ok(
                    &["juju-info", "--format=yaml"],
                    "bind-addresses:\n- mac-address: 00:16:3e:aa:bb:cc\n  interface-name: eth0\n  addresses:\n  - hostname: \"\"\n    value: 198.18.0.1\n    cidr: 198.18.0.0/16\n    address: 198.18.0.1\n  macaddress: 00:16:3e:aa:bb:cc\n  interfacename: eth0\negress-subnets:\n- 198.18.0.1/32\ningress-addresses:\n- 198.18.0.1\n",
                ),
                ok(&["website", "--ingress-address"], "198.18.0.1\n"),
                ok(&["website", "--bind-address", "--format=json"], "\"198.18.0.1\"\n"),
                ok(&["website", "--egress-subnets", "-r", "10"], "198.18.9.0/24\n198.19.0.0/16\n"),
                ok(
                    &["website", "--egress-subnets", "--ingress-address", "--bind-address", "--format=json"],
                    "{\"bind-address\":\"198.18.0.1\",\"egress-subnets\":[\"198.18.0.1/32\"],\"ingress-address\":\"198.18.0.1\"}\n",
                ),
                ok(&["website", "--primary-address"], "198.18.0.1\n"),
                fail(&["website", "--primary-address", "--bind-address"], "--primary-address must be the only flag specified"),
                fail(&["foo"], "no network config found for binding \"foo\""),
                usage(&[], "no arguments specified"),
                usage(&[""], "no binding name specified"),
                usage(&["website", "x"], "unrecognized args: [\"x\"]"),
            ],
        );
    }
}
