// Staff rights are per event: the custom claim lists the events a user is
// staff of ({"staff": ["spring-gala"]}), and counts only for a verified
// address, as the Gateway (infra/auth StaffOf) and firestore.rules check.
export function isStaffOf(claims: Record<string, unknown>, event: string): boolean {
  const events = claims.staff;
  return claims.email_verified === true && Array.isArray(events) && event !== "" && events.includes(event);
}
