package dev.crescent.master.access;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whitelist: who (node name, CIDR), where (key prefixes), what (rights). */
class AccessPolicyTest {

    /** A caller whose name the policies below trust: they are about matching rules, not about proof. */
    private static Caller caller(String node, String address) throws Exception {
        return new Caller(node, InetAddress.getByName(address), true);
    }

    @Test
    void cidrsMatchByPrefixBitsForBothFamilies() throws Exception {
        assertTrue(Cidr.parse("10.1.0.0/16").contains(InetAddress.getByName("10.1.255.3")));
        assertFalse(Cidr.parse("10.1.0.0/16").contains(InetAddress.getByName("10.2.0.1")));
        assertTrue(Cidr.parse("192.168.1.128/25").contains(InetAddress.getByName("192.168.1.200")));
        assertFalse(Cidr.parse("192.168.1.128/25").contains(InetAddress.getByName("192.168.1.100")));
        assertTrue(Cidr.parse("127.0.0.1").contains(InetAddress.getByName("127.0.0.1")));
        assertTrue(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("8.8.8.8")));
        assertTrue(Cidr.parse("fd00::/8").contains(InetAddress.getByName("fd12::1")));
        assertFalse(Cidr.parse("fd00::/8").contains(InetAddress.getByName("10.0.0.1")), "other family");
        for (String bad : List.of("10.0.0.0/33", "example.com/8", "10.0.0/x", "")) {
            assertEquals(
                    ErrorCode.INVALID_PARAMS,
                    assertThrows(StoreException.class, () -> Cidr.parse(bad)).code(),
                    bad);
        }
    }

    @Test
    void aCallIsAllowedOnlyWhenOneRuleMatchesCallerKeyAndRight() throws Exception {
        AccessPolicy policy = new AccessPolicy(
                true,
                List.of(
                        new AccessRule(
                                "llama-rw",
                                List.of("infer-1", "infer-2"),
                                List.of("10.0.0.0/8"),
                                List.of("llama/"),
                                Set.of(Right.READ, Right.WRITE)),
                        new AccessRule(
                                "readers",
                                List.of(),
                                List.of("192.168.0.0/16"),
                                List.of("llama/", "shared/"),
                                Set.of(Right.READ)),
                        new AccessRule("workers", List.of("*"), List.of("10.9.0.0/16"), List.of(), Set.of(Right.MOUNT)),
                        new AccessRule("ops", List.of("ops"), List.of(), List.of(), Set.of(Right.ADMIN))),
                false);

        assertTrue(policy.allows(caller("infer-1", "10.1.2.3"), Right.WRITE, "llama/layer0"));
        assertFalse(policy.allows(caller("infer-1", "10.1.2.3"), Right.WRITE, "mistral/layer0"), "prefix");
        assertFalse(policy.allows(caller("infer-3", "10.1.2.3"), Right.WRITE, "llama/layer0"), "node name");
        assertFalse(policy.allows(caller("infer-1", "172.16.0.1"), Right.WRITE, "llama/layer0"), "network");
        assertTrue(policy.allows(caller(null, "192.168.5.5"), Right.READ, "shared/x"));
        assertFalse(policy.allows(caller(null, "192.168.5.5"), Right.WRITE, "shared/x"), "right");
        assertTrue(policy.allows(caller("any", "10.9.1.1"), Right.MOUNT, null));
        assertFalse(policy.allows(caller("infer-1", "10.1.2.3"), Right.MOUNT, null));
        assertFalse(
                policy.allows(caller(null, "192.168.5.5"), Right.READ, null),
                "a prefix-limited rule covers no key-less call");
        assertTrue(policy.allows(caller("ops", "1.2.3.4"), Right.WRITE, "anything"), "admin grants every right");
        assertTrue(policy.allows(caller("ops", "1.2.3.4"), Right.MOUNT, null));

        StoreException denied = assertThrows(
                StoreException.class, () -> policy.check(caller("infer-1", "10.1.2.3"), Right.READ, "mistral/x"));
        assertEquals(ErrorCode.PERMISSION_DENIED, denied.code());
        assertEquals(
                ErrorCode.UNAUTHENTICATED,
                assertThrows(StoreException.class, () -> policy.check(new Caller("ops", null), Right.READ, "k"))
                        .code());
    }

    @Test
    void aStatedNameMatchesNoRuleUnlessStatedNamesAreTrusted() throws Exception {
        List<AccessRule> rules = List.of(
                new AccessRule("infer", List.of("infer-1"), List.of(), List.of("llama/"), Set.of(Right.WRITE)),
                new AccessRule("local", List.of(), List.of("127.0.0.0/8"), List.of("public/"), Set.of(Right.READ)));
        InetAddress local = InetAddress.getByName("127.0.0.1");
        Caller stated = new Caller("infer-1", local);
        Caller certified = new Caller("infer-1", local, true);

        AccessPolicy proofOnly = new AccessPolicy(true, rules, false);
        assertFalse(proofOnly.allows(stated, Right.WRITE, "llama/a"), "a header is a claim, not a proof");
        assertTrue(proofOnly.allows(certified, Right.WRITE, "llama/a"));
        assertTrue(proofOnly.allows(stated, Right.READ, "public/a"), "rules without node names still apply");
        assertEquals(
                ErrorCode.PERMISSION_DENIED,
                assertThrows(StoreException.class, () -> proofOnly.check(stated, Right.WRITE, "llama/a"))
                        .code());

        assertTrue(new AccessPolicy(true, rules, true).allows(stated, Right.WRITE, "llama/a"));
    }

    @Test
    void anEnabledPolicyWithoutRulesDeniesAndADisabledOneAllowsEverything() throws Exception {
        assertFalse(new AccessPolicy(true, List.of(), false).allows(caller("x", "127.0.0.1"), Right.READ, "k"));
        AccessPolicy open = new AccessPolicy(false, List.of(), false);
        open.check(new Caller(null, null), Right.ADMIN, null);
        assertTrue(open.allows(caller(null, "8.8.8.8"), Right.WRITE, "k"));
    }

    @Test
    void rulesAreValidated() {
        assertEquals(
                ErrorCode.INVALID_PARAMS,
                assertThrows(
                                StoreException.class,
                                () -> new AccessRule("bad name", null, null, null, Set.of(Right.READ)))
                        .code());
        assertEquals(
                ErrorCode.INVALID_PARAMS,
                assertThrows(StoreException.class, () -> new AccessRule("r", null, null, null, Set.of()))
                        .code());
        assertEquals(
                ErrorCode.INVALID_PARAMS,
                assertThrows(
                                StoreException.class,
                                () -> new AccessRule("r", null, List.of("not-a-net"), null, Set.of(Right.READ)))
                        .code());
    }
}
