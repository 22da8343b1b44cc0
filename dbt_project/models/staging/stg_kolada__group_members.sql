select group_id, group_title, member_id, member_title
from {{ source('raw', 'kolada_group_members') }}
