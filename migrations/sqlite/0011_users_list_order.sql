-- The member list (admin API `GET /admin/v1/users`, console `/admin/members`) pages
-- through an organisation's users in (created_at, id) order with a (created_at, id)
-- cursor. This index gives that order and the cursor's range, so a page reads about
-- its own rows whether it is the first or the one after 90,000 members (without it,
-- every page read and sorted all the organisation's users). SQLite dialect; keep in
-- step with migrations/postgres/0011_users_list_order.sql.
CREATE INDEX users_org_created ON users(org_id, created_at, id);
