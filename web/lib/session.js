// session.js — who is signed in and what their roles let the page offer.
// The table mirrors src/auth/principal.c; it only decides which buttons
// appear: the server checks every request again.

const GRANTED_BY = {
	read: ['viewer', 'deployer', 'approver', 'oncall'],
	deploy: ['deployer'],
	rollback: ['deployer'],
	control: ['deployer'],
	approve: ['approver'],
	emergency: ['oncall'],
	incident: ['oncall'],
};

let current = null;

export function set(session) {
	current = session;
}

export function get() {
	return current;
}

// May the signed-in person do PERM in ENV (any environment when env is
// not given)?
export function can(perm, env) {
	if (!current)
		return false;
	const roles = current.roles || [];
	const roleOk = roles.includes('admin') || (GRANTED_BY[perm] || []).some((r) => roles.includes(r));
	if (!roleOk)
		return false;
	return !env || !current.envs || current.envs.includes(env);
}
